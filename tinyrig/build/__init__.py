"""Build stage: PlatformIO builds offline (pio) and the content-keyed firmware cache."""
