"""The runtime: executes a plan."""
