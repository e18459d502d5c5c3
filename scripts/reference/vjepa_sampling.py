"""V-JEPA's clip sampler as a function of the video's length, for the tests.

A rewrite of the index arithmetic of `VideoDataset.loadvideo_decord` in facebookresearch/vjepa2
(src/datasets/video_dataset.py; facebookresearch/jepa has the same rule without `fps`), with the
decord reader replaced by its two numbers: the frame count (`len(vr)`) and the average rate
(`vr.get_avg_fps()`). It draws from numpy's global generator exactly where the original does.
docs/media.md says how it was checked against the original. `start="center"` is jepa-native's
own rule (the clip in the middle of its segment), not V-JEPA's.
"""
import math

import numpy as np


def clip_indices(total, avg_fps=None, frames_per_clip=16, frame_step=4, duration=None, fps=None, num_clips=1,
                 start="begin", allow_clip_overlap=False):
    """The frame indices of each clip (a list of int64 arrays), as loadvideo_decord computes them."""
    fpc = frames_per_clip
    fstp = frame_step
    if duration is not None or fps is not None:
        video_fps = math.ceil(avg_fps)
        if duration is not None:
            fstp = int(duration * video_fps / fpc)
        else:
            fstp = video_fps // fps
    clip_len = int(fpc * fstp)
    partition_len = total // num_clips
    clips = []
    for i in range(num_clips):
        if partition_len > clip_len:
            end_indx = clip_len
            if start == "random":
                end_indx = np.random.randint(clip_len, partition_len)
            elif start == "center":
                end_indx = clip_len + (partition_len - clip_len) // 2
            start_indx = end_indx - clip_len
            indices = np.linspace(start_indx, end_indx, num=fpc)
            indices = np.clip(indices, start_indx, end_indx - 1).astype(np.int64)
            indices = indices + i * partition_len
        elif not allow_clip_overlap:
            indices = np.linspace(0, partition_len, num=partition_len // fstp)
            indices = np.concatenate((indices, np.ones(fpc - partition_len // fstp) * partition_len))
            indices = np.clip(indices, 0, partition_len - 1).astype(np.int64)
            indices = indices + i * partition_len
        else:
            sample_len = min(clip_len, total) - 1
            indices = np.linspace(0, sample_len, num=sample_len // fstp)
            indices = np.concatenate((indices, np.ones(fpc - sample_len // fstp) * sample_len))
            indices = np.clip(indices, 0, sample_len - 1).astype(np.int64)
            clip_step = 0
            if total > clip_len:
                clip_step = (total - clip_len) // (num_clips - 1)
            indices = indices + i * clip_step
        clips.append(indices)
    return clips
