"""Configuration: YAML files with file:line errors, compiled once into frozen models (DBC plan, signal map, thresholds, policy)."""
