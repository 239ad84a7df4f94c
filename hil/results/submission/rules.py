"""What the MLPerf Tiny submission checker (tools/submission/submission_checker.py in
mlcommons/tiny, rules version v1.4) requires of a submission tree, as data.

    <division>/<organization>/
        systems/<system>.json
        code/<benchmark name per reference>/<implementation>/...
        results/<system>/<model>/{performance,accuracy,energy}/{log.txt, results.txt[, results.json]}

`<model>` is the checker's short name (kws, vww, ic, ad, sww), not the benchmark id. The
result lines below are the ones it parses; a result folder holds exactly the required files
(results.json and a few others are optional), energy folders also the runner's plots.
"""

from __future__ import annotations

import re

RULES_VERSION = "v1.4"
DIVISIONS = ("closed", "open")
AVAILABILITIES = ("available", "preview", "rdi")
IGNORED_TOP_DIRS = (".git", ".github", "assets", ".vscode")

# tinyrig benchmark id -> the checker's model folder, and the reference implementation's name.
MODEL_OF_BENCHMARK = {"kws01": "kws", "vww01": "vww", "ic01": "ic", "ad01": "ad", "sww01": "sww"}
REFERENCE_NAME = {"kws": "keyword_spotting", "vww": "visual_wake_words", "ic": "image_classification",
                  "ic2": "image_classification", "ad": "anomaly_detection", "sww": "streaming_wakeword"}
MODELS = ("ad", "ic", "ic2", "kws", "vww", "sww")

# (metric, target): top-1 in percent, AUC as a fraction, sww at most this many false positives / negatives.
ACCURACY_TARGET = {"ad": ("auc", 0.85), "ic": ("top-1", 85.0), "ic2": ("top-1", 91.0), "kws": ("top-1", 90.0),
                   "vww": ("top-1", 80.0), "sww": ("fps_fns", (8, 8))}
REQUIRED_TESTS = {"ad": ("accuracy", "performance"), "ic": ("accuracy", "performance"),
                  "ic2": ("accuracy", "performance"), "kws": ("accuracy", "performance"),
                  "vww": ("accuracy", "performance"), "sww": ()}
OPTIONAL_TESTS = {"ad": ("energy",), "ic": ("energy",), "ic2": ("energy",), "kws": ("energy",),
                  "vww": ("energy",), "sww": ("energy", "performance")}
TESTS = ("performance", "accuracy", "energy")

REQUIRED_FILES = ("log.txt", "results.txt")
OPTIONAL_FILES = ("results.json", "mlperf_log_trace.json", ".gitkeep")
SWW_ENERGY_PLOT = "energy_inf_000.png"
FILE_SIZE_LIMIT = 500 * 1024 * 1024

# The lines the checker reads (it keeps the last match of each in a results.txt).
TOP1_RE = re.compile(r".* Top[- ]1%?\s?[:=] ([\d\.]+).*")
AUC_RE = re.compile(r".* AUC\s?[:=] ([\d\.]+).*")
MEDIAN_THROUGHPUT_RE = re.compile(r".* Median throughput is\s+([\d\.]+) inf\./sec\..*")
MEDIAN_ENERGY_RE = re.compile(r"Median energy cost is ([\d\.]+) uJ/inf")
SWW_THROUGHPUT_RE = re.compile(r"Estimated throughput:\s*([\d\.]+) inf\./sec\..*")
SWW_ACCURACY_RE = re.compile(r"Accuracy: ([\d]+) True positives, ([\d]+) False negatives, ([\d]+) False positives")
SWW_DUTY_CYCLE_RE = re.compile(r"Average duty cycle:\s*([\d\.]+)")
SWW_POWER_RE = re.compile(r"Power\s+: ([\d\.]+) mW.*")
SWW_WAKEWORDS = 50  # true positives + false negatives in the long test file
