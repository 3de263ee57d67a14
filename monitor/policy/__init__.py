"""Configuration and policy: YAML files with file:line errors, compiled into frozen models."""
