"""The recipe compiler: recipe file -> plan."""
