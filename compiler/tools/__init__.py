"""What reads plans and recipes for people and reviews: render, explain, diff, the stale-plan
checks, schema locks, lineage, the JSON Schema, the plan cache.
"""
