"""The mixed-integer linear program of :mod:`.exact`: integer variables with bounds, linear rows over
affine expressions, and HiGHS (``scipy.optimize.milp``) run in a process that a timer can stop."""

from __future__ import annotations

import multiprocessing

import numpy as np
from scipy.optimize import milp
from scipy.sparse import csr_matrix

# An affine expression of the program's variables: ({variable: coefficient}, constant).
Aff = tuple[dict[int, int], int]


class Program:
    """The variables (integer, bounded), the linear rows, and whether any part was relaxed."""

    def __init__(self) -> None:
        self.lb: list[float] = []
        self.ub: list[float] = []
        self.rows: list[tuple[dict[int, int], float, float]] = []
        self.relaxed = False

    def var(self, lo: float, hi: float) -> int:
        self.lb.append(lo)
        self.ub.append(hi)
        return len(self.lb) - 1

    def row(self, expr: Aff, lo: float, hi: float) -> None:
        """``lo <= expr <= hi``."""
        coefs, const = expr
        self.rows.append((coefs, lo - const, hi - const))

    def define(self, expr: Aff, lo: int, hi: int) -> Aff:
        """A new variable equal to ``expr`` (bounds ``[lo, hi]``)."""
        if not expr[0]:
            return expr
        v = self.var(lo, hi)
        self.row(add(expr, ({v: -1}, 0)), 0, 0)
        return ({v: 1}, 0)

    def matrix(self) -> tuple[csr_matrix, np.ndarray, np.ndarray]:
        data, cols, ptr = [], [], [0]
        for coefs, _, _ in self.rows:
            cols.extend(coefs)
            data.extend(coefs.values())
            ptr.append(len(cols))
        a = csr_matrix((np.array(data, np.float64), np.array(cols, np.int64), np.array(ptr)),
                       shape=(len(self.rows), len(self.lb)))
        return a, np.array([r[1] for r in self.rows]), np.array([r[2] for r in self.rows])


def add(a: Aff, b: Aff, scale: int = 1) -> Aff:
    coefs = dict(a[0])
    for v, c in b[0].items():
        coefs[v] = coefs.get(v, 0) + scale * c
    return {v: c for v, c in coefs.items() if c}, a[1] + scale * b[1]


def scale(a: Aff, k: int) -> Aff:
    return {v: c * k for v, c in a[0].items()}, a[1] * k


def const(c: int) -> Aff:
    return {}, int(c)


def _milp_child(conn, problem: dict, seconds: float) -> None:
    res = milp(**problem, options={"time_limit": seconds, "disp": False})
    conn.send((res.status, res.x))


def solve(problem: dict, seconds: float) -> tuple[int | None, np.ndarray | None]:
    """``scipy.optimize.milp`` on ``problem`` in a forked process that is stopped after ``seconds``: HiGHS'
    own time limit is not checked during presolve, which ran 60 s over it on the reference network.
    Returns HiGHS' status (2: infeasible; None: stopped) and the solution, if any."""
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_milp_child, args=(send, problem, max(seconds, 0.1)), daemon=True)
    proc.start()
    send.close()
    try:
        return receive.recv() if receive.poll(seconds + 1.0) else (None, None)
    except EOFError:  # the child died
        return None, None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        receive.close()
