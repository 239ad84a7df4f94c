"""MLPerf Tiny submission trees from tinyrig sessions (tree.py) and the published checker's rules
applied to a tree (check.py); the rules themselves, as the checker states them, in rules.py."""
