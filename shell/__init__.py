"""Shell integration scripts (package data of ``caro_shell``), printed by ``caro init SHELL``."""
