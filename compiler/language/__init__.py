"""The transform steps and the expression language they are written in."""
