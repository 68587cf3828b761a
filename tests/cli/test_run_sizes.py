"""``symrnn run`` at sizes above the exact instance cap: the modules at the sizes asked
for, the certificate, documents and numeric checks at the capped instance, said in a note;
each header's regenerate command rewrites that very file."""

from __future__ import annotations

import shlex

from symrnn.cli import main


def test_run_above_the_instance_cap_writes_full_size_modules(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "--tau", "1", "--inputs", "17", "--hidden", "2", "--outputs", "2",
                 "--no-pdf", "--form", "loop", "--quiet", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "note         certificate, documents and numeric checks at the instance n_in=4, " \
           "n_hidden=2, n_out=2: exact instance checks take sizes up to 16 (n_in = 17 > 16), " \
           "so they run at 4" in text
    assert "result       OK" in text
    names = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert names == ["bptt_tau1_in4_h2_out2.md", "bptt_tau1_in4_h2_out2.tex",
                     "bptt_tau1_in4_h2_out2_certificate.json", "bptt_tau1_in4_h2_out2_graph.svg",
                     "rnn_loop_in17_h2_out2.py"]
    module = out / "rnn_loop_in17_h2_out2.py"
    source = module.read_text()
    assert "N_IN = 17\n" in source
    # the header's command works and writes the same file
    command = source.splitlines()[1].removeprefix("# Regenerate: ")
    words = shlex.split(command)
    assert words[:2] == ["symrnn", "codegen"]
    module.unlink()
    assert main(words[1:]) == 0
    assert module.read_text() == source
