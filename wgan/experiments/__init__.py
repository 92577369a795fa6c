"""The WGAN paper's arguments as runnable experiments; each module's ``run()`` writes a PNG and a JSON.

* ``parallel_lines``: EM, JS, KL and TV between two parallel segments (the paper's Example 1).
* ``critic_vs_discriminator``: a saturated GAN discriminator vs a near-linear critic on two
  1-D Gaussians (the paper's Figure 2).
* ``stability``: GAN vs WGAN with the DCGAN models stripped of BatchNorm, on MNIST, through
  ``wgan.trainer`` (the paper's Section 4.3).
* ``mixtures``: modes covered on a ring of 8 and a grid of 25 Gaussians by gan, wgan, wgan-gp.

The command-line wrappers live in ``scripts/experiments/``; matplotlib (the ``plots`` extra)
is imported only when a figure is drawn.
"""
