"""Audio-guided visual attention pooling (AVGA, from AVEL), as TIM applies it to 7x7 VGG maps."""
from __future__ import annotations

import torch
from torch import nn

MAP_POSITIONS = 49


class AVGA(nn.Module):
    """Pools each [49, Dv] map to [Dv] with attention guided by that second's audio feature.

    The audio term is a per-position bias (broadcast along the last axis), as in AVEL and TIM;
    hence exactly 49 positions are required.
    """

    def __init__(self, audio_dim: int, visual_dim: int, hidden: int | None = None) -> None:
        super().__init__()
        hidden = hidden or visual_dim
        self.affine_audio = nn.Linear(audio_dim, hidden)
        self.affine_video = nn.Linear(visual_dim, hidden)
        self.affine_v = nn.Linear(hidden, MAP_POSITIONS, bias=False)
        self.affine_g = nn.Linear(hidden, MAP_POSITIONS, bias=False)
        self.affine_h = nn.Linear(MAP_POSITIONS, 1, bias=False)
        for layer in (self.affine_audio, self.affine_video, self.affine_v, self.affine_g, self.affine_h):
            nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(self.affine_audio.bias)
        nn.init.zeros_(self.affine_video.bias)

    def forward(self, visual: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """visual [B, T, H, W, Dv] with H*W = 49, audio [B, T, Da] -> pooled visual [B, T, Dv]."""
        b, t = visual.shape[:2]
        maps = visual.reshape(b * t, -1, visual.shape[-1])
        if maps.shape[1] != MAP_POSITIONS:
            raise ValueError(f"AVGA pools 7x7 maps (49 positions); got {tuple(visual.shape[2:-1])}.")
        v = torch.relu(self.affine_video(maps))                       # [BT, 49, h]
        a = torch.relu(self.affine_audio(audio.reshape(b * t, -1)))    # [BT, h]
        content = self.affine_v(v) + self.affine_g(a).unsqueeze(2)     # [BT, 49, 49]: audio term is per position i
        alpha = torch.softmax(self.affine_h(torch.tanh(content)).squeeze(-1), dim=-1)  # [BT, 49]
        return torch.bmm(alpha.unsqueeze(1), maps).reshape(b, t, -1)
