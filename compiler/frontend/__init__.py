"""The front end: a recipe file read (YAML with locations), its `extends:` chain and its resources
resolved, templates rendered, secrets named, and the whole validated.
"""
