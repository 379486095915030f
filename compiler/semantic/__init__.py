"""The load's intermediate representation and the passes over it: types followed through every
step, columns from a schema, a lock or the database.
"""
