"""Built-in scenario files (TOML data, never code); installed as ``engine.scenarios``."""
