"""The document's words in each language: ``WORDS[lang][key]`` for the sentences the
templates and ``context`` place, and ``TERMS`` (English text -> Chinese) for the short texts
that come from model, registry and catalogue data (titles, quantity names, summaries).

Every value is trusted text written here: plain prose with inline math ``$...$`` that is valid
in LaTeX and in GitHub Markdown alike (no ``_``, ``%``, ``&``, ``#`` outside math, no space
just inside a ``$``). Chinese follows the terms of the Chinese edition of *Deep Learning*
(《深度学习》, 人民邮电出版社): 梯度, 通过时间反向传播, 雅可比矩阵, 展开图, 隐藏单元, 时间步.
A sentence with a placeholder takes ``str.format`` fields.
"""

from __future__ import annotations

LANGS = ("en", "zh")

EN = {
    "math_note": "Math is written for GitHub, KaTeX or MathJax (display math in `math` fences, "
                 "inline math as `` $`...`$ ``).",
    "title": "Back-propagation through time: {model}, $\\tau = {tau}$",
    "about": "About this document",
    "about_text": (
        "This document checks, formula by formula, a study note on back-propagation through "
        "time (BPTT) written by a student of the book Deep Learning by Goodfellow, Bengio and "
        "Courville (MIT Press, 2016; Chinese edition 2017), chapter 10, section 10.2.2, "
        "Computing the Gradient in a Recurrent Neural Network. Equation numbers (10.8) and "
        "so on are the book's. Every formula of the note was rebuilt as printed, with the "
        "same factors in the same order, and compared exactly with a derivation of the "
        "unrolled network; where a print does not hold, the document shows a reading that "
        "does and explains why."),
    "map_intro": "The note's headings and where they are checked:",
    "map_row": "{heading}: {where}",
    "net": "The network",
    "net_sizes": ("Here $\\tau = {tau}$ steps, with {n_in} inputs, {n_hidden} hidden units and "
                  "{n_out} outputs per step; the formulas below hold for every size."),
    "vectors": "Vectors are columns, in bold; $\\boldsymbol{{x}}^{{(t)}}$ is the input at step $t$",
    "initial_zero": "and {items} {verb} zero",
    "initial_given": "and {items} {verb}",
    "initial_given_one": "is a given initial value",
    "initial_given_many": "are given initial values",
    "for_t": "For $t = 1, \\ldots, \\tau$:",
    "loss_sum": "The loss is the sum of the per-step losses:",
    "one_hot": ("The label $y^{{(t)}}$ is an integer (a class); where a formula needs a vector, "
                "$\\boldsymbol{{y}}^{{(t)}}$ is its one-hot vector, with entries "
                "$\\mathbf{{1}}_{{i,y^{{(t)}}}}$, so that $-\\log \\hat{{y}}^{{(t)}}_{{y^{{(t)}}}} = "
                "-\\boldsymbol{{y}}^{{(t)\\top}} \\log \\hat{{\\boldsymbol{{y}}}}^{{(t)}}$."),
    "notation": "Notation",
    "notation_text": (
        "For a node $N$ of the unrolled graph, $\\nabla_{{N}} L$ is the gradient of the loss "
        "with respect to $N$, a vector of the same shape as $N$ (the book's notation); in "
        "this network that includes {grads}. "
        "$\\operatorname{{diag}}(\\boldsymbol{{v}})$ is the diagonal matrix with the entries of "
        "$\\boldsymbol{{v}}$; functions and powers of a vector act entrywise, and "
        "$\\boldsymbol{{u}} \\odot \\boldsymbol{{v}}$ is the entrywise product, so that "
        "$\\operatorname{{diag}}(\\boldsymbol{{v}}) \\boldsymbol{{g}} = \\boldsymbol{{v}} \\odot "
        "\\boldsymbol{{g}}$."),
    "bptt": "Back-propagation through time in matrix form",
    "bptt_text": (
        "Each equation below was derived by the chain rule over the unrolled graph and checked "
        "entry by entry, exactly, against the derivatives SymPy computes."),
    "bptt_note": "Where the note prints the same gradient, its formula's verdict is named.",
    "for_steps": "for",
    "note_prints": "The note prints it:",
    "not_in_note": "Not printed in the note.",
    "as_printed_reading": "as printed; a reading holds",
    "feeds": "{who} feeds {readers}",
    "read_by_nothing": "{who} is read by nothing at these steps",
    "and": "and",
    "outer": "a sum of outer products",
    "sum_steps": "a sum over the steps",
    "certified": "The note's formulas, certified",
    "certified_text": (
        "Each formula was rebuilt as the note prints it (same factors, same order, same index "
        "ranges) and compared exactly with the derivation. Of the {n} formulas, {defs} define "
        "the model, {conf} hold as printed"),
    "n_reading": ", {n} hold only in a reading (shown beside the printed form)",
    "n_failing": ", {n} do not hold in any reading tried",
    "n_na": ", and {n} need more steps than $\\tau = {tau}$",
    "by_kind": (" By kind: {definition} definitions, {confirmed} confirmed, {refuted} refuted, "
                "{ill} ill-formed, {shorthand} shorthand, {ambiguous} ambiguous, {unproven} "
                "unproven, {na} not applicable."),
    "part.forward": "Forward pass",
    "part.loss": "Loss",
    "part.bptt": "Gradients by recursion",
    "part.chain": "The chain rule written out",
    "part.other": "Other formulas",
    "as_printed": "As printed in the note",
    "reading": "Reading that holds",
    "reading_refuted": "Reading that fails",
    "why": "Why",
    "derivation": "From what is already confirmed",
    "code_form": "What code computes",
    "counterexample": "Counterexample",
    "note_reads": "Read as",
    "kind.confirmed": "confirmed",
    "kind.definition": "definition",
    "kind.refuted": "refuted",
    "kind.ill-formed": "ill-formed",
    "kind.shorthand": "shorthand",
    "kind.ambiguous": "ambiguous",
    "kind.unproven": "unproven",
    "kind.checked-instance": "checked at this instance only",
    "kind.not-applicable": "not applicable",
    "verdict.confirmed.all": "holds as printed, for every size and every $\\tau$",
    "verdict.confirmed.instance": "holds as printed at this $\\tau$ and these sizes",
    "verdict.definition": "defines the model; equal to its equation for every size",
    "verdict.not-applicable": "needs more steps than $\\tau = {tau}$",
    "verdict.reading": "does not hold as printed; the reading shown with it does",
    "verdict.checked-instance": ("agrees with the derivation entry by entry at this $\\tau$ and "
                                 "these sizes; no proof for every size and $\\tau$ went through, "
                                 "so this is evidence, not a proof"),
    "verdict.shorthand": ("written in the book's tensor shorthand (section 6.5.2); read as the "
                          "sum over entries shown with it, it holds"),
    "verdict.none": "does not hold as printed, and no reading tried holds",
    "illformed": (
        "As printed, the product multiplies ${left}$ (${lshape}$) by ${right}$ (${rshape}$): "
        "the columns of the one do not match the rows of the other{instance}, so the "
        "product is not defined."),
    "illformed_instance": " (here ${a} \\times {b}$ against ${c} \\times {d}$)",
    "moved": "The highlighted factor is the one the reading moves; the shapes are written under each factor.",
    "jacobian_step": (
        "The Jacobian form of the same gradient is confirmed ({ref}), with "
        "${jac} = {value}$; transposing it gives"),
    "jacobian_end": "which is the factor order of the reading.",
    "elementwise": ("A diagonal matrix times a vector is the entrywise product, so the reading "
                    "is also"),
    "elementwise_confirmed": ("A diagonal matrix times a vector is the entrywise product, so "
                              "the formula is also"),
    "elementwise_code": "This entrywise form is what code computes{example}.",
    "min_char_rnn": " (in min-char-rnn: dhraw = (1 - hs[t] * hs[t]) * dh)",
    "shorthand": (
        "As printed, ${rank3}$ is a rank-3 array (${shape}$): one matrix of derivatives for "
        "each entry of ${node}$. A row times it is not a matrix product; as in the book "
        "(section 6.5.2) it stands for the sum over that entry index $i$, as in the reading."),
    "contraction": "Spelled out, the derivative of entry $i$ (the direct dependence, earlier steps held fixed) is",
    "contraction_end": "where $\\boldsymbol{{e}}_{{i}}$ is the $i$-th unit vector.",
    "ambiguous": (
        "As printed, ${product}$ does not say in which order its factors stand, and the "
        "Jacobians {jac} do not commute. Both orders were built and checked:"),
    "order.confirmed": "proved for every size and every $t$, by induction over $k$",
    "order.refuted": "fails: a rational point where the two sides differ",
    "refuted": "As printed, the two sides differ at a rational point (the counterexample below).",
    "moved_only": "Factor moved (well-formed, but does not hold)",
    "reason": "The check's reason: {reason}.",
    "code": "The code",
    "graph_caption": ("The unrolled graph (the book's Fig. 10.3 draws the RNN's): one node per "
                      "quantity and step, an arrow from each node to each node that reads it. "
                      "The highlighted arrows are the paths from the losses down to ${target}$: "
                      "$\\nabla_{{{target}}} L$ has one term for each path, and the terms of a "
                      "node add up over its successors."),
    "graph_caption_plain": ("The unrolled graph: one node per quantity and step, an arrow from "
                            "each node to each node that reads it."),
    "graph_alt": "The unrolled graph, with the paths of one gradient highlighted",
    "code_text": ("The note's BPTT as a loop you can read and run: one step at a time, column "
                  "vectors as in this document ($\\boldsymbol{{x}}^{{(t)}}$ is an "
                  "$n_{{\\mathrm{{in}}}} \\times 1$ array, the labels are integers). Each "
                  "line is one equation of the recursion above; the tests run it against the "
                  "derivation."),
    "code_module": ("The optimized module computes the same loss and gradients for a batch of "
                    "sequences, all steps' products at once: {cmd} writes it (NumPy only; the "
                    "generated/ folder of the repository holds one)."),
    "loop.doc": "The note's forward pass and BPTT, one step at a time; column vectors (n x 1).",
    "loop.forward": "forward, t = 1, ..., tau",
    "loop.yhat": "yhat(t) = softmax(o(t))",
    "loop.backward": "backward, t = tau, ..., 1",
    "loop.grad_o": "grad_o(t) L = yhat(t) - y(t)",
    "loop.grad_h": "grad_h(t) L: one term per successor, o(t) and h(t+1)",
    "loop.grad_a": "grad_a(t) L = diag(phi'(a(t))) grad_h(t) L",
    "loop.next": "W^T grad_a(t) L, the term of grad_h(t-1) L through h(t)",
    "why_holds": "Why it holds",
    "why_param": ("The parameter ${p}$ is shared by every step: at each step $t$ it is read by "
                  "{readers}, so its gradient adds one contribution per step (the note's copy "
                  "of ${p}$ at step $t$ names each contribution)."),
    "why_loss": ("${node}$ has one successor, $L^{{(t)}}$; for this loss the derivative of "
                 "$L^{{(t)}}$ with respect to it is ${grad}$, so the gradient is that vector."),
    "why_one": ("${node}$ has one successor in the unrolled graph, {readers}, so its gradient has "
                "one term: that successor's gradient carried back through one Jacobian."),
    "why_many": ("${node}$ has {n} successors in the unrolled graph, {readers}: the chain rule "
                 "adds one term through each (the book's section 10.2.2), so the gradient has "
                 "{n} terms."),
    "moved_fails": ("Moving the factor makes the product well-formed, but the moved factor is "
                    "still the note's derivative, which is not this activation's: that form is "
                    "refuted below, and the reading that holds has $\\phi'$ in its place."),
    "note_form": ("The note writes $\\phi'$ as ${note_dphi}$, the derivative of ${note}$ written "
                  "with its output $h$; here $\\phi = {phi}$, whose derivative is "
                  "$\\phi'(a) = {dphi}$."),
    "cex": ("For {claim}, entry {entry}: the formula gives {lhs} where the derivation gives "
            "{rhs} ({how})"),
    "cex_exact": "exact rationals",
    "cex_ball": "ball enclosures whose difference excludes 0",
    "cex_point": "at the point {values}",
    "cex_more": " and {n} more (all in the certificate's JSON)",
    "chain": "The chain rule written out for $\\tau = {tau}$",
    "chain_text": ("Generated from the unrolled graph: each term is one path from the loss "
                   "down to the parameter."),
    "chain_read": (
        "A row of derivatives times a rank-3 Jacobian such as "
        "$\\partial \\boldsymbol{{h}}^{{(k)}} / \\partial \\boldsymbol{{W}}$ is read here as in "
        "the certified section: the sum over the entries (the shorthand above), and the "
        "Jacobians stand in descending order of the step."),
    "one_path": "Every $L^{{(t)}}$ reaches ${param}$ along one path:",
    "n_paths": "$L^{{({tau})}}$ reaches ${param}$ along {n} paths:",
    "n_paths_some": "$L^{{({tau})}}$ reaches ${param}$ along {n} paths; the {k} shortest:",
    "untouched": ("No path reaches a parameter through {items}: the initial values do not "
                  "depend on the parameters, so a term through them is zero."),
    "jacobians": ("Here the derivative of a state with respect to a parameter is its direct "
                  "dependence (the states of earlier steps held fixed), and the Jacobians "
                  "along the paths are"),
    "sum_t": "The gradient of $L$ is the sum of these expansions over $t = 1, \\ldots, \\tau$.",
    "recursion": "The gradient recursion for $\\tau = {tau}$",
    "recursion_text": "From $t = \\tau$ down to $t = 1${elided}:",
    "elided": " (steps in the middle elided)",
    "param_sums": "and the parameter gradients, summed over the steps:",
    "certificate": "Certificate",
    "cert_text": ("Every formula of the note, its verdict and how it was shown. {summary}"),
    "col.id": "id",
    "col.formula": "formula",
    "col.page": "page",
    "col.verdict": "verdict",
    "col.how": "how it was shown",
    "how.definition": "equal to the model's own equation, entry by entry, for every size",
    "how.confirmed.all": "proved equal to the derivation entry by entry, for every size and every step",
    "how.confirmed.instance": "equal to the derivation entry by entry at this $\\tau$ and these sizes",
    "how.induction": "proved by induction over $k$ (base, step, term), each case for every size",
    "how.ill-formed": "the shapes of two factors do not multiply",
    "how.shorthand": "a rank-3 Jacobian inside a product; read as a sum over its entries, proved",
    "how.ambiguous": "both orders of the product built; one proved, the other refuted by a point",
    "how.refuted": "a rational point where the two sides differ",
    "how.unproven": "neither proved nor refuted",
    "how.checked-instance": "equal to the derivation entry by entry at this instance only",
    "how.not-applicable": "needs more steps",
    "reading_suffix": "; the reading: proved",
    "summary": ("{n} formulas: {defs} definitions, {conf} confirmed as printed, {reading} hold in a "
                "reading, {fail} fail."),
    "nb_code": "The generated code, checked",
    "nb_code_text": ("The cell below writes the NumPy module that symrnn codegen writes, imports "
                     "it and compares its gradients with central differences of its own loss."),
    # the gradient-flow section
    "flow": "Gradient flow: why tanh and not ReLU?",
    "flow_question": ("The note asks why the activation is usually tanh and not ReLU. A loss "
                      "at step $t$ reaches an earlier state $\\boldsymbol{{h}}^{{(k)}}$, $k < t$, "
                      "through the product of the one-step Jacobians "
                      "$\\operatorname{{diag}}(\\phi'(\\boldsymbol{{a}}^{{(j)}}))\\boldsymbol{{W}}$ "
                      "(the factor for $j = t$ stands leftmost):"),
    "flow_bound": ("so the gradient's norm changes by at most a factor "
                   "$\\lVert \\boldsymbol{{W}} \\rVert_{{2}} \\max \\phi'$ per step, with "
                   "$\\lVert \\boldsymbol{{W}} \\rVert_{{2}}$ the largest singular value. The "
                   "experiments below vary the spectral radius $\\rho$ (the largest "
                   "$\\lvert \\lambda \\rvert$) instead: it is what decides the long run, since "
                   "$\\lVert \\boldsymbol{{W}}^{{n}} \\rVert^{{1/n}} \\to \\rho$, while "
                   "$\\lVert \\boldsymbol{{W}} \\rVert_{{2}} \\ge \\rho$ (for these "
                   "$\\boldsymbol{{W}}$, $\\lVert \\boldsymbol{{W}} \\rVert_{{2}} = {norm}$ at "
                   "$\\rho = {rho}$), so the bound above is loose. The derivatives of each "
                   "activation ({checked} of the {n} checked exactly against the derivative of "
                   "the unrolled graph over one and two steps):"),
    "flow_measured": ("Measured with {hidden} hidden units, lags $0$ to ${lag}$, seed {seed} "
                      "and {seqs} random input sequences, with $\\boldsymbol{{W}}$ drawn with "
                      "independent $\\mathcal{{N}}(0, 1/n)$ entries and scaled to each spectral "
                      "radius $\\rho$: the ratio of the gradient's norm at step $k$ to its norm "
                      "at step $t$ against the lag $t - k${fig}, and the per-step factor ($e$ to "
                      "the slope of the least-squares line through its logarithm; below $1$: "
                      "vanishing, above $1$: exploding):"),
    "flow_fig": " (the figure)",
    "flow_caption": ("Gradient norm against the lag $t - k$ (log scale), one panel per spectral "
                     "radius of $\\boldsymbol{{W}}$, one line per activation; the dashed line is $1$."),
    "flow_alt": "Gradient norm against the lag, one panel per spectral radius, one line per activation",
    "as_drawn": "as drawn",
    "why_tanh": ("Why tanh: $\\tanh' \\le 1$ and $\\lvert \\tanh \\rvert < 1$, so the states stay "
                 "bounded, and saturation ($\\phi' < 0.1$ in {sat} percent of units and steps at "
                 "$\\rho = {rho}$) damps the gradient. ReLU's derivative is $0$ or $1$ and its "
                 "states are unbounded: at $\\rho = {rho}$ they reach ${relu_h}$, and the "
                 "gradient's norm changes by a factor {relu} per step, against {tanh} for tanh."),
    "closer": ("Neither is better everywhere: ReLU's factor is closer to $1$ (its gradient "
               "lasts longer) at $\\rho = {relu_rhos}$, tanh's at $\\rho = {tanh_rhos}$."),
    "closer_one": "The factor closer to $1$ (the gradient that lasts longer) is {act}'s at every radius tested.",
    "vanish": "tanh's gradient vanishes (factor below $1$) at $\\rho = {rhos}$.",
    "flow_answer": ("So in a plain RNN tanh buys bounded states, not freedom from vanishing "
                    "gradients, and neither activation keeps a gradient alive over long lags. "
                    "What is done in practice: exploding gradients are clipped (the gradient's "
                    "norm is capped before the update; the book's section 10.11.1); ReLU RNNs "
                    "train when $\\boldsymbol{{W}}$ starts at the identity (Le, Jaitly and "
                    "Hinton, 2015), so that $\\rho = 1$ and $\\phi' = 1$ on active units; and "
                    "long dependencies are the reason for gating: the LSTM's and the GRU's "
                    "state is carried by an elementwise product with a gate (the book's section "
                    "10.10), a Jacobian $\\operatorname{{diag}}(\\boldsymbol{{f}})$ that the "
                    "network can hold near $1$."),
}

ZH = {
    "math_note": "数学公式按 GitHub、KaTeX 或 MathJax 的写法给出（行间公式在 `math` 代码块中，行内公式写作 `` $`...`$ ``）。",
    "title": "通过时间反向传播：{model}，$\\tau = {tau}$",
    "about": "关于本文档",
    "about_text": (
        "本文档逐个公式地检验一篇关于通过时间反向传播（BPTT）的学习笔记。笔记的作者是一名学生，"
        "内容来自《深度学习》（Goodfellow、Bengio、Courville 著，赵申剑等译，人民邮电出版社，2017；"
        "英文版 MIT Press，2016）第 10 章 10.2.2 节“计算循环神经网络的梯度”。公式编号（10.8）等"
        "均为书中编号。笔记中的每个公式都按原样重建（因子相同，顺序相同），并与展开图上的推导精确比较；"
        "若某个公式按原样不成立，本文档给出成立的读法并解释原因。"),
    "map_intro": "笔记的各部分及其检验位置：",
    "map_row": "{heading}：{where}",
    "net": "网络",
    "net_sizes": ("这里 $\\tau = {tau}$ 个时间步，每步 {n_in} 个输入、{n_hidden} 个隐藏单元、"
                  "{n_out} 个输出；下面的公式对任意大小都成立。"),
    "vectors": "向量均为列向量，用粗体表示；$\\boldsymbol{{x}}^{{(t)}}$ 是时间步 $t$ 的输入",
    "initial_zero": "，{items} 为零",
    "initial_given": "，{items} {verb}",
    "initial_given_one": "是给定的初始状态",
    "initial_given_many": "是给定的初始状态",
    "for_t": "对 $t = 1, \\ldots, \\tau$：",
    "loss_sum": "总损失是各时间步损失之和：",
    "one_hot": ("标签 $y^{{(t)}}$ 是一个整数（类别）；公式需要向量时，$\\boldsymbol{{y}}^{{(t)}}$ "
                "表示它的 one-hot 向量，其元素为 $\\mathbf{{1}}_{{i,y^{{(t)}}}}$，因此 "
                "$-\\log \\hat{{y}}^{{(t)}}_{{y^{{(t)}}}} = -\\boldsymbol{{y}}^{{(t)\\top}} "
                "\\log \\hat{{\\boldsymbol{{y}}}}^{{(t)}}$。"),
    "notation": "记号",
    "notation_text": (
        "对展开图中的节点 $N$，$\\nabla_{{N}} L$ 表示损失关于 $N$ 的梯度，形状与 $N$ 相同（书中的记号）；"
        "在本网络中包括 {grads}。$\\operatorname{{diag}}(\\boldsymbol{{v}})$ 是以 $\\boldsymbol{{v}}$ "
        "的元素为对角元的对角矩阵；向量的函数和幂逐元素作用，$\\boldsymbol{{u}} \\odot \\boldsymbol{{v}}$ "
        "是元素对应乘积，因此 $\\operatorname{{diag}}(\\boldsymbol{{v}}) \\boldsymbol{{g}} = "
        "\\boldsymbol{{v}} \\odot \\boldsymbol{{g}}$。"),
    "bptt": "矩阵形式的通过时间反向传播",
    "bptt_text": "下面每个等式都由展开图上的链式法则推导，并与 SymPy 计算的导数逐元素精确核对。",
    "bptt_note": "笔记给出同一梯度时，注明该公式的结论。",
    "for_steps": "适用于",
    "note_prints": "笔记中的公式：",
    "not_in_note": "笔记中没有给出。",
    "as_printed_reading": "（按原样；某种读法成立）",
    "feeds": "{who} 是 {readers} 的输入",
    "read_by_nothing": "{who} 在这些时间步不被使用",
    "and": "和",
    "outer": "外积之和",
    "sum_steps": "对时间步求和",
    "certified": "笔记中的公式及其验证",
    "certified_text": (
        "每个公式都按笔记原样重建（因子相同，顺序相同，下标范围相同），并与推导精确比较。"
        "在 {n} 个公式中，{defs} 个定义模型，{conf} 个按原样成立"),
    "n_reading": "，{n} 个只在某种读法下成立（读法与原式并排给出）",
    "n_failing": "，{n} 个在所试的读法下都不成立",
    "n_na": "，{n} 个需要多于 $\\tau = {tau}$ 的时间步",
    "by_kind": ("按结论分类：定义 {definition} 个，成立 {confirmed} 个，不成立 {refuted} 个，形状不合 {ill} 个，"
                "简写 {shorthand} 个，有歧义 {ambiguous} 个，未证明 {unproven} 个，不适用 {na} 个。"),
    "part.forward": "前向传播",
    "part.loss": "损失",
    "part.bptt": "递归计算梯度",
    "part.chain": "展开的链式法则",
    "part.other": "其他公式",
    "as_printed": "笔记原式",
    "reading": "成立的读法",
    "reading_refuted": "不成立的读法",
    "why": "原因",
    "derivation": "由已验证的结果推出",
    "code_form": "代码中的计算",
    "counterexample": "反例",
    "note_reads": "读作",
    "kind.confirmed": "成立",
    "kind.definition": "定义",
    "kind.refuted": "不成立",
    "kind.ill-formed": "形状不合",
    "kind.shorthand": "简写",
    "kind.ambiguous": "有歧义",
    "kind.unproven": "未证明",
    "kind.checked-instance": "只在此实例上核对",
    "kind.not-applicable": "不适用",
    "verdict.confirmed.all": "按原样成立，对任意大小和任意 $\\tau$",
    "verdict.confirmed.instance": "在这个 $\\tau$ 和这些大小下按原样成立",
    "verdict.definition": "定义模型；对任意大小都与模型的等式相同",
    "verdict.not-applicable": "需要多于 $\\tau = {tau}$ 的时间步",
    "verdict.reading": "按原样不成立；与它一同给出的读法成立",
    "verdict.checked-instance": "在这个 $\\tau$ 和这些大小下与推导逐元素一致；对任意大小和任意 $\\tau$ 的证明没有完成，所以这是证据，不是证明",
    "verdict.shorthand": "用的是书中的张量简写（6.5.2 节）；按与它一同给出的对元素求和的读法，它成立",
    "verdict.none": "按原样不成立，所试的读法也都不成立",
    "illformed": (
        "按原样，乘积把 ${left}$（${lshape}$）乘以 ${right}$（${rshape}$）：前者的列数与后者的行数"
        "不一致{instance}，所以这个矩阵乘积没有定义。"),
    "illformed_instance": "（此处是 ${a} \\times {b}$ 对 ${c} \\times {d}$）",
    "moved": "高亮的因子是读法中移动了位置的因子；每个因子下方写出了它的形状。",
    "jacobian_step": "同一梯度的雅可比矩阵形式已经验证（{ref}），其中 ${jac} = {value}$；转置后得到",
    "jacobian_end": "这正是读法中因子的顺序。",
    "elementwise": "对角矩阵乘以向量就是元素对应乘积，所以读法也可以写成",
    "elementwise_confirmed": "对角矩阵乘以向量就是元素对应乘积，所以公式也可以写成",
    "elementwise_code": "代码中计算的正是这种逐元素形式{example}。",
    "min_char_rnn": "（min-char-rnn 中：dhraw = (1 - hs[t] * hs[t]) * dh）",
    "shorthand": (
        "按原样，${rank3}$ 是一个三阶数组（${shape}$）：${node}$ 的每个元素对应一个导数矩阵。"
        "行向量乘以它不是矩阵乘积；按书中 6.5.2 节的约定，它表示对元素下标 $i$ 求和，见所给的读法。"),
    "contraction": "写开来，第 $i$ 个元素的导数（直接依赖，之前的时间步固定不变）是",
    "contraction_end": "其中 $\\boldsymbol{{e}}_{{i}}$ 是第 $i$ 个单位向量。",
    "ambiguous": (
        "按原样，${product}$ 没有说明因子的顺序，而雅可比矩阵 {jac} 不可交换。两种顺序都已构造并检验："),
    "order.confirmed": "对任意大小和任意 $t$ 成立，对 $k$ 归纳证明",
    "order.refuted": "不成立：在一个有理点上两边不相等",
    "refuted": "按原样，两边在一个有理点上不相等（反例见下）。",
    "moved_only": "移动因子后（形状相合，但不成立）",
    "reason": "检验给出的原因：{reason}。",
    "code": "代码",
    "graph_caption": ("展开图（书中图 10.3 画的是 RNN 的展开图）：每个量在每个时间步是一个节点，箭头从一个节点指向读取它的节点。"
                      "高亮的箭头是从各个损失到 ${target}$ 的路径：$\\nabla_{{{target}}} L$ 对每条路径有一项，"
                      "一个节点的各项按它的后继相加。"),
    "graph_caption_plain": "展开图：每个量在每个时间步是一个节点，箭头从一个节点指向读取它的节点。",
    "graph_alt": "展开图，高亮了一个梯度的路径",
    "code_text": ("下面把笔记中的 BPTT 写成一个可以阅读和运行的循环：逐个时间步计算，向量与本文档一样是列向量"
                  "（$\\boldsymbol{{x}}^{{(t)}}$ 是 $n_{{\\mathrm{{in}}}} \\times 1$ 的数组，标签是整数）。"
                  "每一行对应上面递归中的一个等式；测试会把它与推导结果对照运行。"),
    "code_module": ("优化后的模块对一批序列计算同样的损失和梯度，所有时间步的乘积一次算完：{cmd} 会写出它"
                    "（只依赖 NumPy；仓库的 generated/ 文件夹中有一份）。"),
    "loop.doc": "笔记中的前向传播和 BPTT，逐个时间步计算；列向量（n x 1）。",
    "loop.forward": "前向，t = 1, ..., tau",
    "loop.yhat": "yhat(t) = softmax(o(t))",
    "loop.backward": "反向，t = tau, ..., 1",
    "loop.grad_o": "grad_o(t) L = yhat(t) - y(t)",
    "loop.grad_h": "grad_h(t) L：每个后继一项，o(t) 和 h(t+1)",
    "loop.grad_a": "grad_a(t) L = diag(phi'(a(t))) grad_h(t) L",
    "loop.next": "W^T grad_a(t) L，即 grad_h(t-1) L 中经过 h(t) 的一项",
    "why_holds": "成立的原因",
    "why_param": ("参数 ${p}$ 被所有时间步共享：在每个时间步 $t$，{readers} 读取它，所以它的梯度是每个时间步"
                  "贡献之和（笔记中时间步 $t$ 的副本就是各步的贡献）。"),
    "why_loss": ("${node}$ 只有一个后继 $L^{{(t)}}$；对这个损失，$L^{{(t)}}$ 关于它的导数是 ${grad}$，"
                 "所以梯度就是这个向量。"),
    "why_one": "${node}$ 在展开图中只有一个后继 {readers}，所以它的梯度只有一项：该后继的梯度经过一个雅可比矩阵传回。",
    "why_many": ("${node}$ 在展开图中有 {n} 个后继 {readers}：链式法则对每个后继加上一项（书中 10.2.2 节），"
                 "所以梯度有 {n} 项。"),
    "moved_fails": ("移动因子后乘积的形状相合，但移动的因子仍是笔记中的导数，而不是这里激活函数的导数："
                    "这种形式在下面被否定，成立的读法在该处用 $\\phi'$。"),
    "note_form": ("笔记把 $\\phi'$ 写作 ${note_dphi}$，即 ${note}$ 的导数用其输出 $h$ 表示；这里 "
                  "$\\phi = {phi}$，其导数为 $\\phi'(a) = {dphi}$。"),
    "cex": "对 {claim} 的元素 {entry}：公式给出 {lhs}，推导给出 {rhs}（{how}）",
    "cex_exact": "精确有理数",
    "cex_ball": "区间球包含，差不含 0",
    "cex_point": "取点 {values}",
    "cex_more": " 以及另外 {n} 个（全部见证书的 JSON）",
    "chain": "$\\tau = {tau}$ 时展开的链式法则",
    "chain_text": "由展开图生成：每一项是从损失到参数的一条路径。",
    "chain_read": (
        "导数行向量乘以三阶雅可比数组（例如 "
        "$\\partial \\boldsymbol{{h}}^{{(k)}} / \\partial \\boldsymbol{{W}}$）在这里与验证部分的读法相同："
        "对元素求和（上文的简写），雅可比矩阵按时间步从大到小排列。"),
    "one_path": "每个 $L^{{(t)}}$ 沿一条路径到达 ${param}$：",
    "n_paths": "$L^{{({tau})}}$ 沿 {n} 条路径到达 ${param}$：",
    "n_paths_some": "$L^{{({tau})}}$ 沿 {n} 条路径到达 ${param}$，下面是最短的 {k} 条：",
    "untouched": "没有路径经过 {items} 到达参数：初始状态不依赖于参数，所以经过它们的项为零。",
    "jacobians": "这里状态关于参数的导数是直接依赖（之前时间步的状态固定不变），路径上的雅可比矩阵为",
    "sum_t": "$L$ 的梯度是这些展开式对 $t = 1, \\ldots, \\tau$ 求和。",
    "recursion": "$\\tau = {tau}$ 时的梯度递归",
    "recursion_text": "从 $t = \\tau$ 到 $t = 1${elided}：",
    "elided": "（省略中间的时间步）",
    "param_sums": "参数的梯度对时间步求和：",
    "certificate": "证书",
    "cert_text": "笔记中的每个公式、结论及其证明方式。{summary}",
    "col.id": "编号",
    "col.formula": "公式",
    "col.page": "页",
    "col.verdict": "结论",
    "col.how": "证明方式",
    "how.definition": "对任意大小，与模型自身的等式逐元素相同",
    "how.confirmed.all": "对任意大小和任意时间步，证明与推导逐元素相等",
    "how.confirmed.instance": "在这个 $\\tau$ 和这些大小下与推导逐元素相等",
    "how.induction": "对 $k$ 归纳证明（基础、递推、求和项），每一步对任意大小成立",
    "how.ill-formed": "两个因子的形状不能相乘",
    "how.shorthand": "乘积中有三阶雅可比数组；读作对其元素求和，已证明",
    "how.ambiguous": "乘积的两种顺序都已构造；一种得证，另一种被一个点否定",
    "how.refuted": "一个使两边不相等的有理点",
    "how.unproven": "既未证明也未否定",
    "how.checked-instance": "只在此实例上与推导逐元素相等",
    "how.not-applicable": "需要更多时间步",
    "reading_suffix": "；读法：已证明",
    "summary": "{n} 个公式：{defs} 个定义，{conf} 个按原样成立，{reading} 个在某种读法下成立，{fail} 个不成立。",
    "nb_code": "生成的代码及其检验",
    "nb_code_text": "下面的单元写出 symrnn codegen 生成的 NumPy 模块，导入它，并把它的梯度与其损失的中心差分比较。",
    "flow": "梯度的流动：为什么用 tanh 而不用 ReLU？",
    "flow_question": ("笔记问：为什么激活函数一般选择 tanh 而不用 ReLU？时间步 $t$ 的损失经过一步雅可比矩阵"
                      "$\\operatorname{{diag}}(\\phi'(\\boldsymbol{{a}}^{{(j)}}))\\boldsymbol{{W}}$ 的乘积"
                      "到达更早的状态 $\\boldsymbol{{h}}^{{(k)}}$，$k < t$（$j = t$ 的因子在最左边）："),
    "flow_bound": ("因此梯度的范数每一步至多改变 $\\lVert \\boldsymbol{{W}} \\rVert_{{2}} \\max \\phi'$ 倍，"
                   "其中 $\\lVert \\boldsymbol{{W}} \\rVert_{{2}}$ 是最大奇异值。下面的实验改变的却是谱半径 "
                   "$\\rho$（最大的 $\\lvert \\lambda \\rvert$）：长期行为由它决定，因为 "
                   "$\\lVert \\boldsymbol{{W}}^{{n}} \\rVert^{{1/n}} \\to \\rho$，而 "
                   "$\\lVert \\boldsymbol{{W}} \\rVert_{{2}} \\ge \\rho$（对这里的 $\\boldsymbol{{W}}$，"
                   "$\\rho = {rho}$ 时 $\\lVert \\boldsymbol{{W}} \\rVert_{{2}} = {norm}$），所以上面的界并不紧。"
                   "各激活函数的导数（{n} 个中有 {checked} 个已与展开图一步和两步的导数精确核对）："),
    "flow_measured": ("测量设置：{hidden} 个隐藏单元，时间差 $0$ 到 ${lag}$，随机种子 {seed}，{seqs} 个随机输入序列；"
                      "$\\boldsymbol{{W}}$ 的元素独立服从 $\\mathcal{{N}}(0, 1/n)$，并缩放到各个谱半径 $\\rho$。"
                      "下面给出时间步 $k$ 与时间步 $t$ 的梯度范数之比随时间差 $t - k$ 的变化{fig}，"
                      "以及每步的倍数（对数的最小二乘直线斜率取 $e$ 的幂；小于 $1$ 为梯度消失，大于 $1$ 为梯度爆炸）："),
    "flow_fig": "（见图）",
    "flow_caption": ("梯度范数随时间差 $t - k$ 的变化（对数坐标），每个子图对应 $\\boldsymbol{{W}}$ 的一个谱半径，"
                     "每条线对应一个激活函数；虚线为 $1$。"),
    "flow_alt": "梯度范数随时间差的变化",
    "as_drawn": "原始抽样",
    "why_tanh": ("为什么用 tanh：$\\tanh' \\le 1$ 且 $\\lvert \\tanh \\rvert < 1$，所以状态有界；"
                 "饱和（在 $\\rho = {rho}$ 时，{sat}% 的单元和时间步上 $\\phi' < 0.1$）使梯度衰减。"
                 "ReLU 的导数是 $0$ 或 $1$，状态无界：在 $\\rho = {rho}$ 时状态达到 ${relu_h}$，"
                 "梯度范数每步变为 {relu} 倍，而 tanh 为 {tanh} 倍。"),
    "closer": ("两者都不是处处更好：在 $\\rho = {relu_rhos}$ 时 ReLU 的倍数更接近 $1$（梯度保持得更久），"
               "在 $\\rho = {tanh_rhos}$ 时 tanh 的更接近。"),
    "closer_one": "在所有测试的谱半径下，更接近 $1$ 的倍数（梯度保持得更久）都是 {act} 的。",
    "vanish": "在 $\\rho = {rhos}$ 时，tanh 的梯度消失（倍数小于 $1$）。",
    "flow_answer": ("所以在普通循环网络中，tanh 换来的是有界的状态，而不是免于梯度消失；两种激活函数都不能让梯度"
                    "在长时间差上保持。实践中的做法是：对爆炸的梯度做梯度截断（更新前限制梯度的范数；书中 10.11.1 节）；"
                    "ReLU 循环网络在 $\\boldsymbol{{W}}$ 初始化为单位矩阵时可以训练（Le、Jaitly 和 Hinton，2015），"
                    "此时 $\\rho = 1$，且在激活的单元上 $\\phi' = 1$；而长期依赖正是门控的理由：LSTM 和 GRU 的状态"
                    "经由与门的逐元素乘积传递（书中 10.10 节），其雅可比矩阵 $\\operatorname{{diag}}(\\boldsymbol{{f}})$ "
                    "可以由网络保持在 $1$ 附近。"),
}

WORDS = {"en": EN, "zh": ZH}

#: Texts that come from data (model, registry, catalogue), in Chinese. A text without an
#: entry stays in English.
TERMS = {
    "Vanilla RNN": "普通循环神经网络",
    "Output-to-hidden recurrence": "从输出到隐藏层的循环",
    "input": "输入", "pre-activation": "激活前的值", "hidden state": "隐藏状态",
    "output (logits)": "输出（未归一化的对数概率）", "target": "目标",
    "output (logits), fed back to the next step": "输出（未归一化的对数概率），反馈到下一时间步",
    "input-to-hidden weights": "输入到隐藏的权重",
    "hidden-to-hidden (recurrent) weights": "隐藏到隐藏（循环）的权重",
    "output-to-hidden (recurrent) weights": "输出到隐藏（循环）的权重",
    "hidden-to-output weights": "隐藏到输出的权重",
    "hidden bias": "隐藏层偏置", "output bias": "输出层偏置",
    "the note's network: hidden-to-hidden recurrence, an output and a loss at every step":
        "笔记中的网络：隐藏单元到隐藏单元的循环连接，每个时间步都有输出和损失",
    "recurrence from the output o(t-1) to the hidden layer, a loss at every step":
        "从输出 o(t-1) 到隐藏层的循环连接，每个时间步都有损失",
    "eqs. 10.8-10.11, Fig. 10.3": "式 10.8–10.11，图 10.3",
    "Fig. 10.4": "图 10.4",
    "hyperbolic tangent, the note's choice (10.9)": "双曲正切，笔记的选择（10.9）",
    "logistic sigmoid 1/(1+exp(-a))": "logistic sigmoid 函数 1/(1+exp(-a))",
    "max(0, a); derivative 0 at a = 0 as in PyTorch, JAX and TensorFlow":
        "max(0, a)；在 a = 0 处导数取 0，与 PyTorch、JAX 和 TensorFlow 相同",
    "h = a (a linear RNN)": "h = a（线性循环网络）",
    "a generic, undefined activation phi (symbolic only)": "一般的、未指定的激活函数 φ（仅符号计算）",
    "softmax and the negative log-likelihood of the label, as in the note":
        "softmax 与标签的负对数似然，与笔记相同",
    "mean squared error 1/2 ||o - y||^2 on o(t), for regression": "o(t) 上的均方误差 1/2 ||o - y||^2，用于回归",
    "sigmoid and binary cross-entropy per output, for multi-label targets":
        "每个输出的 sigmoid 与二元交叉熵，用于多标签目标",
    # catalogue titles
    "hidden state, first section (generic phi)": "隐藏状态，第一部分（一般的 φ）",
    "output, first section": "输出，第一部分",
    "prediction, first section": "预测，第一部分",
    "pre-activation (10.8)": "激活前的值（10.8）",
    "hidden state (10.9)": "隐藏状态（10.9）",
    "output (10.10)": "输出（10.10）",
    "prediction (10.11)": "预测（10.11）",
    "total loss": "总损失",
    "total loss, first section": "总损失，第一部分",
    "negative log-likelihood of the label": "标签的负对数似然",
    "gradient of the loss per step": "总损失关于每步损失的梯度",
    "output gradient": "输出的梯度",
    "last hidden gradient": "最后一个隐藏状态的梯度",
    "hidden gradient recursion, Jacobian form": "隐藏状态梯度的递归，雅可比矩阵形式",
    "hidden gradient recursion, matrix form": "隐藏状态梯度的递归，矩阵形式",
    "bias c, through the Jacobians": "偏置 c，经由雅可比矩阵",
    "bias c": "偏置 c",
    "bias b, through the Jacobians": "偏置 b，经由雅可比矩阵",
    "bias b": "偏置 b",
    "output weights V, entry by entry": "输出权重 V，逐元素",
    "output weights V": "输出权重 V",
    "recurrent weights W, entry by entry": "循环权重 W，逐元素",
    "recurrent weights W": "循环权重 W",
    "input weights U, entry by entry": "输入权重 U，逐元素",
    "input weights U": "输入权重 U",
    "output weights V, the loss of one step, by the chain rule": "输出权重 V，单个时间步的损失，由链式法则",
    "output weights V, summed over the steps": "输出权重 V，对时间步求和",
    "recurrent weights W, the note's three-step expansion": "循环权重 W，笔记的三步展开",
    "recurrent weights W, the general expansion over k": "循环权重 W，对 k 的一般展开",
    "input weights U, the note's three-step expansion": "输入权重 U，笔记的三步展开",
    "input weights U, the general expansion over k": "输入权重 U，对 k 的一般展开",
    # notes on how a print is read
    "the note's n is read as tau": "笔记中的 n 读作 τ",
    "sigma is the output function: softmax in the note": "σ 是输出函数：笔记中为 softmax",
    "y^(t)[y(t)] is read as y(t)^T log y^(t) with y(t) the one-hot of the label":
        "y^(t)[y(t)] 读作 y(t)^T log y^(t)，其中 y(t) 是标签的 one-hot 向量",
    "1[i = y(t)] is the one-hot vector of the label y(t)": "1[i = y(t)] 是标签 y(t) 的 one-hot 向量",
    "b(t) is a copy of b used only at step t (the note's device)": "b(t) 是只在时间步 t 使用的 b 的副本（笔记的做法）",
    "W(t) is a copy of W used only at step t (the note's device)": "W(t) 是只在时间步 t 使用的 W 的副本（笔记的做法）",
    "U(t) is a copy of U used only at step t (the note's device)": "U(t) 是只在时间步 t 使用的 U 的副本（笔记的做法）",
    "prod_{j=k+1}^{t} has no order; both orders are built": "prod_{j=k+1}^{t} 没有规定顺序；两种顺序都已构造",
    # single-output (Fig. 10.5)
    "Single output at the end": "序列末尾的单个输出",
    "hidden-to-hidden recurrence that reads the whole sequence; one output and loss at tau":
        "读取整个序列的隐藏单元到隐藏单元的循环连接；只在 tau 处有一个输出和损失",
    "output (logits), at the last step only": "输出（未归一化的对数概率），只在最后一个时间步",
    "target (read at the last step)": "目标（在最后一个时间步读取）",
    # teacher-forcing (Fig. 10.6)
    "Teacher forcing": "教师强制",
    "the hidden layer reads the previous target y(t-1) in training; no recurrence":
        "训练时隐藏层读取上一时间步的目标 y(t-1)；没有循环连接",
    "target-to-hidden weights": "目标到隐藏的权重",
    "target, fed to the next step in training": "目标，训练时作为下一时间步的输入",
    # bidirectional (Fig. 10.11)
    "Bidirectional RNN": "双向 RNN",
    "a forward state h(t) and a backward state g(t) (from g(t+1)) both feed o(t)":
        "前向状态 h(t) 和后向状态 g(t)（由 g(t+1) 得到）都是 o(t) 的输入",
    "input-to-forward weights": "输入到前向层的权重",
    "forward recurrent weights": "前向层的循环权重",
    "forward bias": "前向层偏置",
    "input-to-backward weights (U')": "输入到后向层的权重（U'）",
    "backward recurrent weights (W')": "后向层的循环权重（W'）",
    "backward bias (b')": "后向层偏置（b'）",
    "forward-to-output weights": "前向层到输出的权重",
    "backward-to-output weights (V')": "后向层到输出的权重（V'）",
    "forward pre-activation": "前向层激活前的值",
    "forward hidden state": "前向隐藏状态",
    "backward pre-activation": "后向层激活前的值",
    "backward hidden state": "后向隐藏状态",
    # deep (Fig. 10.13)
    "Deep RNN, two layers": "深度循环网络，两层",
    "two stacked recurrent layers h1(t), h2(t); an output and a loss at every step":
        "两个堆叠的循环层 h1(t) 和 h2(t)；每个时间步都有输出和损失",
    "input-to-layer-1 weights": "输入到第 1 层的权重",
    "layer-1 recurrent weights": "第 1 层的循环权重",
    "layer-1 bias": "第 1 层偏置",
    "layer-1-to-layer-2 weights": "第 1 层到第 2 层的权重",
    "layer-2 recurrent weights": "第 2 层的循环权重",
    "layer-2 bias": "第 2 层偏置",
    "layer-2-to-output weights": "第 2 层到输出的权重",
    "layer-1 pre-activation": "第 1 层激活前的值",
    "layer-1 hidden state": "第 1 层隐藏状态",
    "layer-2 pre-activation": "第 2 层激活前的值",
    "layer-2 hidden state": "第 2 层隐藏状态",
    # lstm (sec. 10.10.1): the book's s is the internal state, g the external input gate
    "LSTM, as the book prints it": "LSTM，按书中原样",
    "long short-term memory: forget, external input and output gates, internal state s; "
    "sigma for the cell input as printed":
        "长短期记忆：遗忘门、外部输入门和输出门，内部状态 s；细胞输入按原样使用 sigma",
    "The book prints sigma for the cell input (10.41); PyTorch's nn.LSTM uses tanh, orders its "
    "gates i, f, g, o and has two biases per gate: see lstm-torch.":
        "书中细胞输入使用 sigma（10.41）；PyTorch 的 nn.LSTM 使用 tanh，门的顺序为 i, f, g, o，"
        "并且每个门有两个偏置：见 lstm-torch。",
    "input weights of the forget gate": "遗忘门的输入权重",
    "recurrent weights of the forget gate": "遗忘门的循环权重",
    "bias of the forget gate": "遗忘门的偏置",
    "input weights of the external input gate": "外部输入门的输入权重",
    "recurrent weights of the external input gate": "外部输入门的循环权重",
    "bias of the external input gate": "外部输入门的偏置",
    "input weights of the output gate": "输出门的输入权重",
    "recurrent weights of the output gate": "输出门的循环权重",
    "bias of the output gate": "输出门的偏置",
    "input weights of the cell input": "细胞输入的输入权重",
    "recurrent weights of the cell input": "细胞输入的循环权重",
    "bias of the cell input": "细胞输入的偏置",
    "forget gate pre-activation": "遗忘门激活前的值",
    "forget gate": "遗忘门",
    "external input gate pre-activation": "外部输入门激活前的值",
    "external input gate": "外部输入门",
    "output gate pre-activation": "输出门激活前的值",
    "output gate": "输出门",
    "cell input pre-activation": "细胞输入激活前的值",
    "cell input": "细胞输入",
    "internal (cell) state": "内部状态（细胞状态）",
    "output of the cell (hidden state)": "细胞的输出（隐藏状态）",
    # lstm-torch: PyTorch's i is the input gate, its c the cell state
    "LSTM, as PyTorch's nn.LSTM computes it": "LSTM，按 PyTorch 的 nn.LSTM 计算",
    "PyTorch's LSTM cell: tanh cell input, gates i, f, g, o, two biases per gate":
        "PyTorch 的 LSTM 细胞：细胞输入使用 tanh，门为 i, f, g, o，每个门有两个偏置",
    "Differs from the book's 10.40-10.44 (lstm): tanh for the cell input where the book prints "
    "sigma; two biases per gate (b_i* + b_h*); PyTorch's output gate o and cell state c are q "
    "and s here.":
        "与书中的式 10.40-10.44（lstm）不同：细胞输入使用 tanh，而书中为 sigma；每个门有两个偏置"
        "（b_i* + b_h*）；PyTorch 的输出门 o 和细胞状态 c 在这里记作 q 和 s。",
    "input weights of the input gate (weight_ih_l0)": "输入门的输入权重（weight_ih_l0）",
    "recurrent weights of the input gate (weight_hh_l0)": "输入门的循环权重（weight_hh_l0）",
    "input bias of the input gate (bias_ih_l0)": "输入门的输入偏置（bias_ih_l0）",
    "recurrent bias of the input gate (bias_hh_l0)": "输入门的循环偏置（bias_hh_l0）",
    "input weights of the forget gate (weight_ih_l0)": "遗忘门的输入权重（weight_ih_l0）",
    "recurrent weights of the forget gate (weight_hh_l0)": "遗忘门的循环权重（weight_hh_l0）",
    "input bias of the forget gate (bias_ih_l0)": "遗忘门的输入偏置（bias_ih_l0）",
    "recurrent bias of the forget gate (bias_hh_l0)": "遗忘门的循环偏置（bias_hh_l0）",
    "input weights of the cell input (weight_ih_l0)": "细胞输入的输入权重（weight_ih_l0）",
    "recurrent weights of the cell input (weight_hh_l0)": "细胞输入的循环权重（weight_hh_l0）",
    "input bias of the cell input (bias_ih_l0)": "细胞输入的输入偏置（bias_ih_l0）",
    "recurrent bias of the cell input (bias_hh_l0)": "细胞输入的循环偏置（bias_hh_l0）",
    "input weights of the output gate (weight_ih_l0)": "输出门的输入权重（weight_ih_l0）",
    "recurrent weights of the output gate (weight_hh_l0)": "输出门的循环权重（weight_hh_l0）",
    "input bias of the output gate (bias_ih_l0)": "输出门的输入偏置（bias_ih_l0）",
    "recurrent bias of the output gate (bias_hh_l0)": "输出门的循环偏置（bias_hh_l0）",
    "input gate pre-activation": "输入门激活前的值",
    "input gate": "输入门",
    "cell state (PyTorch's c)": "细胞状态（PyTorch 的 c）",
    # gru (sec. 10.10.2): reset gate is 重置门 throughout
    "GRU, as the book prints it": "GRU，按书中原样",
    "gated recurrent unit: update and reset gates of step t-1 act on h(t); sigma for the "
    "candidate as printed":
        "门控循环单元：时间步 t-1 的更新门和重置门作用于 h(t)；候选状态按原样使用 sigma",
    "As printed, u(t-1) and r(t-1) act on h(t): u(0) and r(0) are initial values.":
        "按原样，u(t-1) 和 r(t-1) 作用于 h(t)：u(0) 和 r(0) 是初始值。",
    "The book prints sigma for the candidate; PyTorch's nn.GRU uses tanh, reads its gates at "
    "h(t-1) of the same step and applies the reset gate after the recurrent product: see "
    "gru-torch.":
        "书中候选状态使用 sigma；PyTorch 的 nn.GRU 使用 tanh，各个门在同一时间步读取 h(t-1)，"
        "并在循环乘积之后施加重置门：见 gru-torch。",
    "input weights of the candidate": "候选状态的输入权重",
    "recurrent weights of the candidate": "候选状态的循环权重",
    "bias of the candidate": "候选状态的偏置",
    "input weights of the update gate": "更新门的输入权重",
    "recurrent weights of the update gate": "更新门的循环权重",
    "bias of the update gate": "更新门的偏置",
    "input weights of the reset gate": "重置门的输入权重",
    "recurrent weights of the reset gate": "重置门的循环权重",
    "bias of the reset gate": "重置门的偏置",
    "candidate pre-activation": "候选状态激活前的值",
    "candidate state": "候选状态",
    "update gate pre-activation": "更新门激活前的值",
    "update gate": "更新门",
    "reset gate pre-activation": "重置门激活前的值",
    "reset gate": "重置门",
    # gru-torch
    "GRU, as PyTorch's nn.GRU computes it": "GRU，按 PyTorch 的 nn.GRU 计算",
    "PyTorch's GRU cell: reset gate applied after the recurrent product, r * (W_hn h + b_hn), "
    "tanh candidate, two biases":
        "PyTorch 的 GRU 单元：在循环乘积之后施加重置门，即 r * (W_hn h + b_hn)；候选状态使用 tanh；"
        "两个偏置",
    "Differs from the book's 10.45-10.47 (gru): the reset gate acts after the recurrent "
    "product, r * (W_hn h(t-1) + b_hn); gates read h(t-1) at the same step; tanh candidate; "
    "two biases per gate.":
        "与书中的式 10.45-10.47（gru）不同：重置门在循环乘积之后作用，即 r * (W_hn h(t-1) + b_hn)；"
        "各个门在同一时间步读取 h(t-1)；候选状态使用 tanh；每个门有两个偏置。",
    "input weights of the reset gate (weight_ih_l0)": "重置门的输入权重（weight_ih_l0）",
    "recurrent weights of the reset gate (weight_hh_l0)": "重置门的循环权重（weight_hh_l0）",
    "input bias of the reset gate (bias_ih_l0)": "重置门的输入偏置（bias_ih_l0）",
    "recurrent bias of the reset gate (bias_hh_l0)": "重置门的循环偏置（bias_hh_l0）",
    "input weights of the update gate (weight_ih_l0)": "更新门的输入权重（weight_ih_l0）",
    "recurrent weights of the update gate (weight_hh_l0)": "更新门的循环权重（weight_hh_l0）",
    "input bias of the update gate (bias_ih_l0)": "更新门的输入偏置（bias_ih_l0）",
    "recurrent bias of the update gate (bias_hh_l0)": "更新门的循环偏置（bias_hh_l0）",
    "input weights of the candidate (weight_ih_l0)": "候选状态的输入权重（weight_ih_l0）",
    "recurrent weights of the candidate (weight_hh_l0)": "候选状态的循环权重（weight_hh_l0）",
    "input bias of the candidate (bias_ih_l0)": "候选状态的输入偏置（bias_ih_l0）",
    "recurrent bias of the candidate (bias_hh_l0)": "候选状态的循环偏置（bias_hh_l0）",
    "recurrent part of the candidate, W_hn h(t-1) + b_hn": "候选状态的循环部分，W_hn h(t-1) + b_hn",
    # references of the models (where the book has them)
    "Fig. 10.5": "图 10.5",
    "Fig. 10.6": "图 10.6",
    "sec. 10.3, Fig. 10.11": "10.3 节，图 10.11",
    "sec. 10.5, Fig. 10.13a": "10.5 节，图 10.13a",
    "sec. 10.10.1, eqs. 10.40-10.44": "10.10.1 节，式 10.40-10.44",
    "torch.nn.LSTM; cf. sec. 10.10.1": "torch.nn.LSTM；参见 10.10.1 节",
    "sec. 10.10.2, eqs. 10.45-10.47": "10.10.2 节，式 10.45-10.47",
    "torch.nn.GRU; cf. sec. 10.10.2": "torch.nn.GRU；参见 10.10.2 节",
    # the gated cells' catalogue (certificate/gated.py): titles and how a print is read
    "forget gate (10.40)": "遗忘门（10.40）",
    "internal state (10.41)": "内部状态（10.41）",
    "external input gate (10.42)": "外部输入门（10.42）",
    "output of the cell (10.43)": "细胞的输出（10.43）",
    "output gate (10.44)": "输出门（10.44）",
    "hidden state (10.45)": "隐藏状态（10.45）",
    "update gate (10.46)": "更新门（10.46）",
    "reset gate (10.47)": "重置门（10.47）",
    "per unit i in the book; sum_j U_ij x_j(t) is (U x(t))_i":
        "书中按单元 i 逐个写出；sum_j U_ij x_j(t) 即 (U x(t))_i",
    "the book prints sigma for the cell input; PyTorch uses tanh (lstm-torch)":
        "书中细胞输入使用 sigma；PyTorch 使用 tanh（lstm-torch）",
    "the output gate q has parameters with superscript o in the book": "书中输出门 q 的参数带上标 o",
    "sum_j W_ij r_j h_j is (W (r (.) h))_i: the reset gate acts before the product (PyTorch "
    "applies it after: gru-torch)":
        "sum_j W_ij r_j h_j 即 (W (r (.) h))_i：重置门在乘积之前作用（PyTorch 在乘积之后施加：gru-torch）",
    "as printed, the gate of step t reads h(t) and acts on h(t+1)":
        "按原样，时间步 t 的门读取 h(t)，作用于 h(t+1)",
}


#: The sentences that name the note, for a model whose printed formulas are the book's (or
#: none): the document checks no study note there.
BOOK = {
    "en": {
        "about_text": (
            "This document derives back-propagation through time (BPTT) for this network of the "
            "book Deep Learning by Goodfellow, Bengio and Courville (MIT Press, 2016; Chinese "
            "edition 2017), chapter 10, by the chain rule over the unrolled graph, and checks "
            "every gradient equation exactly against the derivatives SymPy computes. Where the "
            "book prints equations for this network, each is rebuilt as printed and compared "
            "exactly with the model's own; equation numbers are the book's."),
        "bptt_note": "Where the book prints the same quantity, its verdict is named.",
        "note_prints": "The book prints it:",
        "not_in_note": "Not printed in the book.",
        "certified": "The book's printed equations, checked",
        "as_printed": "As printed in the book",
    },
    "zh": {
        "about_text": (
            "本文档按展开图上的链式法则，为《深度学习》（Goodfellow、Bengio、Courville 著，赵申剑等译，"
            "人民邮电出版社，2017；英文版 MIT Press，2016）第 10 章中的这个网络推导通过时间反向传播（BPTT），"
            "并把每个梯度等式与 SymPy 计算的导数精确核对。书中给出这个网络的等式时，每个等式都按原样重建，"
            "并与模型自身的等式精确比较；公式编号均为书中编号。"),
        "bptt_note": "书中给出同一个量时，注明其结论。",
        "note_prints": "书中的公式：",
        "not_in_note": "书中没有给出。",
        "certified": "书中的等式及其检验",
        "as_printed": "书中原式",
    },
}


#: Phrases inside a certificate's data text (a counterexample's claim: "dL(4)/dW with the
#: factors ascending"), in Chinese.
PHRASES = {"zh": {" with the factors ascending": "（因子按升序排列）",
                  " with the factors descending": "（因子按降序排列）"}}


def phrases(text: str, lang: str) -> str:
    """``text`` with the phrases of ``PHRASES`` in ``lang``."""
    for en, local in PHRASES.get(lang, {}).items():
        text = text.replace(en, local)
    return text


def words(lang: str, note: bool = True) -> dict:
    """The sentences in ``lang``; ``note=False`` for a model whose source is the book alone."""
    if lang not in WORDS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    return WORDS[lang] if note else {**WORDS[lang], **BOOK[lang]}


def term(text: str, lang: str) -> str:
    """A data text in ``lang`` (English when there is no entry)."""
    return TERMS.get(text, text) if lang == "zh" else text
