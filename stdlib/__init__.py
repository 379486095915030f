"""Base recipes to extend with `extends: stdlib:bases/NAME.yaml`."""
