# The original TIM recognition model at its parser defaults (README section "Manifests").
model = dict(
    type="TIM",
    d_model=512,
    nhead=8,
    num_layers=4,
    feedforward_scale=4,
    enc_dropout=0.1,
    feat_dropout=0.5,
    seq_dropout=0.5,
    pool_features=False,
    head=dict(type="LinearHead"),
    encoder_init="cloned",  # the original: one layer deep-copied, all start identical; "independent" draws each
)
