"""The IR lowered into sqlglot SQL: the plan's units and steps, and their SQL in other dialects."""
