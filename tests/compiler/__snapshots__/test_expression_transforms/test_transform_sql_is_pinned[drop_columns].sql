SELECT
  *
  EXCLUDE ("secret", "my col")
FROM input
