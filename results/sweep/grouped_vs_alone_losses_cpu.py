# Record of the CPU check behind results/sweep/grouped_vs_alone_losses_cpu.json, run from the repository root as
#   python results/sweep/grouped_vs_alone_losses_cpu.py 6 results/sweep/grouped_vs_alone_losses_cpu.json 2
# K grouped runs of configs/mnist.yaml (fp32, CPU) against the same configs alone, stepped side by side;
# per step, each run's mean EM estimate over its critic steps and its generator loss, and the largest
# relative difference between grouped and alone.
import sys, json, torch
sys.path.insert(0, 'scripts')
import sweep_benchmark as sb
from wgan.data import load_mnist
from wgan.grouped import GroupedRuns
from wgan.trainer import Trainer
torch.set_num_threads(2)
mnist = load_mnist('data', 'train')
steps = int(sys.argv[1])
cfgs = sb.configs("mnist", int(sys.argv[3]), "fp32", extra=("system.device=cpu",))
group = GroupedRuns(cfgs, mnist)
solos = [Trainer(c, mnist, echo=lambda _: None) for c in cfgs]
rows = []
for step in range(steps):
    group.objective.em_sum.zero_(); group.objective.generator_loss_sum.zero_()
    group.train_step()
    g_em = (group.objective.em_sum / cfgs[0].train.n_critic).tolist(); g_gl = group.objective.generator_loss_sum.tolist()
    s_em, s_gl = [], []
    for s in solos:
        s.acc_critic.zero_(); s.acc_gen.zero_(); s.train_step()
        s_em.append(float(s.acc_critic[0] / cfgs[0].train.n_critic)); s_gl.append(float(s.acc_gen[0]))
    rel = max(max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(g_em, s_em)), max(abs(a - b) / max(abs(b), 1e-12) for a, b in zip(g_gl, s_gl)))
    rows.append({"step": step + 1, "grouped_em": g_em, "solo_em": s_em, "grouped_gen_loss": g_gl, "solo_gen_loss": s_gl, "max_rel_loss_diff": rel})
    print(step + 1, f"{rel:.2e}", [f"{a:.5f}/{b:.5f}" for a, b in zip(g_em, s_em)], flush=True)
json.dump({"config": "configs/mnist.yaml (fp32, CPU), K=2 runs: lr 5e-5, clip 0.01 and 0.02, seed 0, train.ema=0", "rows": rows}, open(sys.argv[2], "w"), indent=1)
