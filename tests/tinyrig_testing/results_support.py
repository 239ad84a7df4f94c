"""Support for the results tests: stored real sessions, fresh real runs, a throw-away PostgreSQL
server, and a headless Chromium driven over the DevTools protocol.

Not a conftest.py on purpose: the root tests import `conftest` by name, and a second conftest.py
in a sub-folder would shadow it. Shared, expensive things (the PostgreSQL server, the real runs)
are process-wide singletons here, so every test module that imports them reuses one instance.
"""

from __future__ import annotations

import atexit
import copy
import json
import os
import pwd
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DATA = REPO / "tests" / "hil" / "results" / "data"  # sessions recorded with an earlier schema
# Real sessions recorded with `tinyrig run` on qemu-mps2-an386 (see data/README.md).
PERF_SESSION = DATA / "20261123T085841Z-qemu-mps2-an386-performance"
ACCURACY_SESSION = DATA / "20261123T090434Z-qemu-mps2-an386-accuracy"
ENERGY_SESSION = DATA / "20261123T090447Z-qemu-mps2-an386-energy"
# `tinyrig run --benchmark ad01` under QEMU with the cycle model (estimated cycles per window).
CYCLES_SESSION = DATA / "cycles" / "20261206T055600Z-qemu-mps2-an386-performance"


def load(session: Path) -> dict:
    return json.loads((session / "results.json").read_text())


def write_session(root: Path, name: str, results: dict, *, copy_from: Path | None = None) -> Path:
    """A session folder holding `results` (and the other files of `copy_from`, e.g. traces)."""
    folder = root / name
    if copy_from is not None:
        shutil.copytree(copy_from, folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results, indent=1))
    return folder


def synthetic_slowdown(results: dict, benchmark: str, factor: float, *, note: str) -> dict:
    """A SYNTHETIC candidate: a copy of real results with one benchmark's instruction counts and
    latencies scaled, and labelled as such inside the document. Emulated counts do not change
    between honest runs of the same firmware, so a regression has to be made this way."""
    out = copy.deepcopy(results)
    out["synthetic"] = note
    entry = out["benchmarks"][benchmark]
    for w in entry.get("windows", []):
        w["instructions"] = round(w["instructions"] * factor)
        w["latency_us"] *= factor
    summary = entry["summary"]
    summary["median_instructions"] = round(summary["median_instructions"] * factor)
    summary["median_latency_us"] *= factor
    return out


# -- real runs under QEMU ---------------------------------------------------------------------------

def models_dir() -> Path:
    return Path(os.environ.get("TINYRIG_MODELS") or REPO.parent / "shared" / "mlperf-tiny" / "models")


def require_emulation() -> None:
    missing = [t for t in ("qemu-system-arm", "arm-none-eabi-gcc") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} on PATH (scripts/setup.sh installs them)")
    if not (models_dir() / "ad01.tflite").is_file():
        pytest.skip(f"reference models not found at {models_dir()}")


_RUNS: dict[str, list[Path]] = {}


def real_runs(count: int = 2) -> list[Path]:
    """`count` real `tinyrig run --benchmark ad01` sessions (ad01: the shortest inference), made
    once per test process. Their own recording goes to a private database, not the user's."""
    require_emulation()
    if len(_RUNS.get("ad01", [])) < count:
        root = Path(tempfile.mkdtemp(prefix="tinyrig-results-runs-"))
        atexit.register(shutil.rmtree, root, True)
        env = dict(os.environ, TINYRIG_DB=str(root / "run-recording.sqlite"), TINYRIG_MODELS=str(models_dir()))
        runs = []
        for n in range(count):
            proc = subprocess.run([sys.executable, "-m", "tinyrig.cli", "run", "--benchmark", "ad01", "--models",
                                   str(models_dir()), "--sessions", str(root / f"run{n}")],
                                  capture_output=True, text=True, timeout=600, env=env)
            assert proc.returncode == 0, f"tinyrig run failed:\n{proc.stdout}\n{proc.stderr}"
            (session,) = [p for p in (root / f"run{n}").iterdir() if p.is_dir()]
            runs.append(session)
        _RUNS["ad01"] = runs
    return _RUNS["ad01"][:count]


# -- PostgreSQL -----------------------------------------------------------------------------------

def pg_bin_dir() -> Path | None:
    """The server binaries: $TINYRIG_PG_BIN, else Debian's newest /usr/lib/postgresql/N/bin,
    else wherever initdb is on PATH."""
    candidates = [Path(os.environ["TINYRIG_PG_BIN"])] if os.environ.get("TINYRIG_PG_BIN") else []
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                      key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    candidates += versions
    if shutil.which("initdb"):
        candidates.append(Path(shutil.which("initdb")).resolve().parent)
    return next((c for c in candidates if (c / "initdb").is_file() and (c / "pg_ctl").is_file()), None)


class PostgresServer:
    """A private server in a temporary folder, reachable only through a Unix socket there.

    PostgreSQL refuses to run as root, so as root the server runs as `nobody` (subprocess's
    user=/group=, no sudo or runuser needed); the socket folder is then owned by nobody, which
    root can still reach."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="tinyrig-pg-"))
        self.data = self.root / "data"
        self.port = 54329  # only a socket name: the folder is private, so no clash is possible
        self.user = "tinyrig"
        self.run_as: dict = {}
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
            self.run_as = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        self._databases = 0

    def _run(self, *args: str, timeout: float = 60) -> None:
        env = dict(os.environ, HOME=str(self.root), LC_ALL="C")
        proc = subprocess.run([str(a) for a in args], cwd=self.root, env=env, capture_output=True, text=True,
                              timeout=timeout, **self.run_as)
        if proc.returncode != 0:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"{' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}\n{log}")

    def start(self) -> None:
        self._run(self.bin / "initdb", "-D", self.data, "-U", self.user, "--auth=trust", "--no-sync", "-E", "UTF8",
                  "--locale=C")
        options = f"-k {self.root} -p {self.port} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        self._run(self.bin / "pg_ctl", "-D", self.data, "-l", self.root / "server.log", "-w", "-t", "60",
                  "-o", options, "start")

    def stop(self) -> None:
        try:
            self._run(self.bin / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{self.user}@/{database}?host={self.root}&port={self.port}"

    def new_database(self) -> str:
        """A fresh, empty database: one per test."""
        from sqlalchemy import create_engine, text

        self._databases += 1
        name = f"t{os.getpid()}_{self._databases}"
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)


_PG: list[PostgresServer] = []


def postgres() -> PostgresServer:
    """The process's PostgreSQL server, started on first use; skips where it cannot exist."""
    if _PG:
        return _PG[0]
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries not found (Debian package postgresql; or set TINYRIG_PG_BIN)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'psycopg[binary]')")
    server = PostgresServer(bin_dir)
    server.start()
    atexit.register(server.stop)
    _PG.append(server)
    return server


def db_url(kind: str, tmp_path: Path) -> str:
    """A fresh, empty results database of this kind for one test."""
    if kind == "sqlite":
        return str(tmp_path / "results.sqlite")
    return postgres().new_database()


# -- headless Chromium over the DevTools protocol ---------------------------------------------------

def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@dataclass
class Rendered:
    console_errors: list[str] = field(default_factory=list)  # console.error/assert and browser log errors
    exceptions: list[str] = field(default_factory=list)      # uncaught script errors
    external_requests: list[str] = field(default_factory=list)  # anything not data: or the file itself
    failed_requests: list[str] = field(default_factory=list)
    page: dict = field(default_factory=dict)                 # facts the page reports about itself

    @property
    def problems(self) -> list[str]:
        return self.console_errors + self.exceptions + self.external_requests + self.failed_requests


_PAGE_FACTS = """(() => {
  const view = document.documentElement.clientWidth;
  const describe = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
      (e.className && typeof e.className === 'string' ? '.' + e.className.trim().replace(/ +/g, '.') : '') +
      ' "' + (e.textContent || e.alt || '').trim().slice(0, 40) + '"';
  // Boxes that scroll sideways on their own: what is inside them may be wider than the page.
  const scrollers = [...document.querySelectorAll('body *')].filter(e =>
      ['auto', 'scroll'].includes(getComputedStyle(e).overflowX));
  const inside = e => scrollers.some(s => s !== e && s.contains(e));
  const wide = [...document.querySelectorAll('body, body *')].filter(e => {
      const r = e.getBoundingClientRect();
      return r.width > 0 && (r.right > view + 0.5 || r.left < -0.5);
  });
  const verdict = document.getElementById('verdict');
  const first = document.querySelector('body h1 ~ *, body header > h1 ~ *');
  return JSON.stringify({
    title: document.title,
    h2: [...document.querySelectorAll('h2')].map(h => h.textContent),
    tables: document.querySelectorAll('table').length,
    images: [...document.images].map(i => ({ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth, alt: i.alt,
                                            shown: i.checkVisibility()})),
    text: document.body.innerText.length,
    viewport: view,
    page_width: document.documentElement.scrollWidth,
    wider_than_viewport: wide.filter(e => !inside(e)).map(describe),
    wider_inside_scrollers: wide.filter(inside).map(describe),
    scrolling_boxes: scrollers.filter(s => s.scrollWidth > s.clientWidth + 0.5).map(describe),
    verdict: verdict ? {text: verdict.innerText, cls: verdict.className,
                        background: getComputedStyle(verdict).backgroundColor,
                        top: verdict.getBoundingClientRect().top,
                        right_after_title: first === verdict} : null,
  });
})()"""


class _DevTools:
    """Chromium's --remote-debugging-pipe: JSON messages separated by NUL, commands on the
    child's fd 3, replies and events on its fd 4. No port, no websocket, nothing to leak."""

    def __init__(self, proc: subprocess.Popen, to_browser: int, from_browser: int):
        self.proc, self.to_browser, self.from_browser = proc, to_browser, from_browser
        self.buffer = b""
        self.events: list[dict] = []
        self.next_id = 0

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_browser, json.dumps(message).encode() + b"\0")
        reply = self.wait(lambda m: m.get("id") == self.next_id, timeout, f"reply to {method}")
        if "error" in reply:
            raise RuntimeError(f"DevTools {method}: {reply['error']}")
        return reply.get("result", {})

    def wait(self, match, timeout: float, what: str) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            while b"\0" in self.buffer:
                raw, self.buffer = self.buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "method" in message:
                    self.events.append(message)
                if match(message):
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"Chromium: no {what} within {timeout} s")
            ready, _, _ = select.select([self.from_browser], [], [], min(left, 0.5))
            if ready:
                chunk = os.read(self.from_browser, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"Chromium closed the DevTools pipe while waiting for {what}")
                self.buffer += chunk

    def drain(self, seconds: float) -> None:
        try:
            self.wait(lambda m: False, seconds, "more events")
        except TimeoutError:
            pass


def render_in_chromium(page: Path, timeout: float = 60, width: int = 1280, height: int = 900) -> Rendered:
    """Opens a local HTML file in headless Chromium, in a window `width` x `height` CSS pixels,
    and reports console errors, uncaught exceptions, requests that left the file, and what the
    page holds (including every element wider than the window)."""
    exe = chromium()
    if exe is None:
        pytest.skip("headless Chromium not found (Debian package chromium)")
    profile = Path(tempfile.mkdtemp(prefix="tinyrig-chromium-"))
    cmd_r, cmd_w = os.pipe()
    out_r, out_w = os.pipe()
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--disable-extensions", f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "about:blank"]
    # bash moves the pipe ends onto fds 3 and 4, where Chromium expects them.
    with open(profile / "stderr.txt", "w") as stderr:
        proc = subprocess.Popen(["bash", "-c", f'exec "$0" "$@" 3<&{cmd_r}- 4>&{out_w}-', exe, *flags],
                                pass_fds=(cmd_r, out_w), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=stderr)
    os.close(cmd_r)
    os.close(out_w)
    tools = _DevTools(proc, cmd_w, out_r)
    result = Rendered()
    try:
        target = tools.send("Target.createTarget", {"url": "about:blank"}, timeout=timeout)["targetId"]
        session = tools.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Network", "Page"):
            tools.send(f"{domain}.enable", session=session)
        tools.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                          "mobile": False}, session=session)
        url = page.resolve().as_uri()
        tools.send("Page.navigate", {"url": url}, session=session)
        tools.wait(lambda m: m.get("method") == "Page.loadEventFired" and m.get("sessionId") == session, timeout,
                   "load event")
        tools.drain(0.5)  # late errors (decoding, timers) still count
        facts = tools.send("Runtime.evaluate", {"expression": _PAGE_FACTS, "returnByValue": True}, session=session)
        result.page = json.loads(facts["result"]["value"])
        for event in tools.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                result.exceptions.append(details.get("exception", {}).get("description") or details.get("text", "?"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                result.console_errors.append(" ".join(str(a.get("value", a.get("description", "")))
                                                      for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                result.console_errors.append(params["entry"].get("text", "?"))
            elif method == "Network.requestWillBeSent":
                request_url = params["request"]["url"]
                if not request_url.startswith("data:") and request_url != url:
                    result.external_requests.append(request_url)
            elif method == "Network.loadingFailed":
                result.failed_requests.append(params.get("errorText", "?"))
        try:
            tools.send("Browser.close", timeout=10)
        except (RuntimeError, TimeoutError):
            pass
    finally:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        os.close(cmd_w)
        os.close(out_r)
        shutil.rmtree(profile, ignore_errors=True)
    return result
