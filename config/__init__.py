"""Configuration: YAML files (sources, recipients, priorities) and their validating loader."""
