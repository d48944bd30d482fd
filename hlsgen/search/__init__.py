"""``hlsgen search``: the greedy precision search (:mod:`.greedy`, no I/O), the Dask task a worker runs
without TensorFlow (:mod:`.task`), the cluster (:mod:`.scheduler`), the outputs (:mod:`.report`) and the
command (:mod:`.command`)."""
