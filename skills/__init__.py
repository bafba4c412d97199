"""First-party ADR-004 skills (package data of ``caro_skills``), installable like any other skill."""
