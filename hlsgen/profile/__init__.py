"""``hlsgen profile``: value ranges and the integer bits they need (:mod:`.ranges`), PTQ accuracy sweeps
(:mod:`.sweep`), plots (:mod:`.plots`) and the command itself (:mod:`.command`)."""
