"""Where firmware runs: QEMU, Renode and flashed boards behind one Target interface."""
