"""Verification: a project's simulation output compared with the golden model, bit for bit (:mod:`.compare`)."""
