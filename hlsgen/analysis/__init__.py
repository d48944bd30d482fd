"""Analysis of a spec, beside the golden model and reading only the spec: ``hlsgen prove``'s overflow proof
(:mod:`.prove`) and its command and certificate (:mod:`.command`)."""
