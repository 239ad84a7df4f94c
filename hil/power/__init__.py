"""Power monitors: one interface, pluggable instrument drivers."""
