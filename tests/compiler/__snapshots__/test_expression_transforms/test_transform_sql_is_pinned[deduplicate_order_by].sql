SELECT
  *
FROM input
QUALIFY
  ROW_NUMBER() OVER (
    PARTITION BY "id", "region"
    ORDER BY "updated_at" DESC, COALESCE("priority", 0) ASC, "a, b" ASC
  ) = 1
