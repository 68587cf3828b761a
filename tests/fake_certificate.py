"""A stand-in certificate with the API of ``symrnn.certificate`` (for tests that must not
depend on the certifier's verdicts or run time)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Entry:
    id: str
    title: str
    part: str
    printed: str
    status: str
    reading: str | None = None
    reading_status: str | None = None
    reason: str | None = None
    method: str = "exact comparison with sympy.diff"
    seconds: float = 0.0
    counterexample: dict | None = None


@dataclass
class Certificate:
    spec: object
    entries: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(e.status in ("confirmed", "not-applicable") for e in self.entries)


def fake(spec) -> Certificate:
    gh = r"\nabla_{\boldsymbol h^{(t)}} L"
    return Certificate(spec, [
        Entry("forward.a", "Pre-activation (10.8)", "forward",
              r"\boldsymbol{a}^{(t)}=\boldsymbol{b}+\boldsymbol{W} \boldsymbol{h}^{(t-1)}+\boldsymbol{U} \boldsymbol{x}^{(t)}",
              "confirmed"),
        Entry("loss.total", "Total loss", "loss", r"L = \sum_t L^{(t)}", "confirmed"),
        Entry("bptt.grad_o", "Gradient at the output", "bptt",
              r"(\nabla_{\boldsymbol o^{(t)}} L)_i = \hat y_i^{(t)} - \mathbf{1}_{i,y^{(t)}}",
              "confirmed"),
        Entry("bptt.grad_h", "Hidden-state recursion", "bptt",
              r"\nabla_{\boldsymbol h^{(t)}} L = \boldsymbol W^\top (\nabla_{\boldsymbol h^{(t+1)}} L) "
              r"\text{diag} \Big( 1 - (\boldsymbol h^{(t+1)})^2 \Big) + \boldsymbol V^\top "
              r"( \nabla_{\boldsymbol o^{(t)}} L )",
              "ill-formed",
              reading=r"\boldsymbol W^\top \text{diag} \Big( 1 - (\boldsymbol h^{(t+1)})^2 \Big) "
                      r"(\nabla_{\boldsymbol h^{(t+1)}} L) + \boldsymbol V^\top (\nabla_{\boldsymbol o^{(t)}} L)",
              reason="The product (n_h x 1)(n_h x n_h) does not type-check with column vectors & 50% of readers agree.",
              method="shape check, then exact comparison",
              counterexample={"h(2)[0]": 0.5, "printed": float("nan"), "reading": -0.25}),
        Entry("bptt.grad_W", "Gradient of W", "bptt",
              r"\nabla_{\boldsymbol W} L = \sum_t \text{diag} \Big( 1 - \big( \boldsymbol h^{(t)} \big)^2 \Big) "
              r"( " + gh + r") \boldsymbol h^{(t-1)^\top}", "confirmed"),
        Entry("chain.dW_general", "General term for W", "chain",
              r"\frac{\partial L^{(t)}}{\partial W}=\sum_{k=0}^{t}\frac{\partial L^{(t)}}{\partial o^{(t)}}"
              r"\frac{\partial o^{(t)}}{\partial h^{(t)}}(\prod_{j=k+1}^{t}\frac{\partial h^{(j)}}"
              r"{\partial h^{(j-1)}})\frac{\partial h^{(k)}}{\partial W}", "confirmed"),
    ])
