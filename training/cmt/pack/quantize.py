"""Weight quantization for the pack's graphs, in numpy (deterministic round-to-nearest): the
MatMulNBits block layouts (symmetric int8, asymmetric int4 with integer or float zero points), int8
blocks with a float16 scale (GGUF Q8_0's form), GGUF Q4_1's own q*d + m blocks, their inverses, and
the check that an fp32 tensor is exactly representable in float16. Which graph uses which is
described in graph.py."""
import numpy as np


def quantize_blockwise(w: np.ndarray, bits: int, block_size: int, float_zero_point: bool = False
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Round-to-nearest block quantization of ``w`` [N, K] (blocks of ``block_size`` along K) in the
    MatMulNBits layout.  Returns (B uint8 [N, n_blocks, block_size*bits/8], scales float32
    [N * n_blocks], zero_points or None):

      * bits=8: symmetric, scale = absmax/127, no zero points (MatMulNBits default 128);
      * bits=4: asymmetric over [min(w,0), max(w,0)], uint8 zero points packed two per byte
        ([N * ceil(n_blocks/2)]), or with ``float_zero_point`` over [min, max] with float32 zero
        points [N * n_blocks] (exact for dequantized GGUF Q4_1 blocks).
    Dequantized weight: (q - zp) * scale.
    """
    if bits not in (4, 8):
        raise ValueError(f"bits must be 4 or 8, got {bits}")
    w = np.asarray(w, dtype=np.float32)
    N, K = w.shape
    nb = (K + block_size - 1) // block_size
    if nb * block_size != K:
        w = np.concatenate([w, np.zeros((N, nb * block_size - K), np.float32)], axis=1)
    blk = w.reshape(N, nb, block_size)
    zp_out: np.ndarray | None = None
    if bits == 8:
        amax = np.abs(blk).max(axis=2)
        scale = (amax / np.float32(127.0)).astype(np.float32)
        inv = np.where(scale > 0, np.float32(1.0) / np.where(scale > 0, scale, 1), 0).astype(np.float32)
        q = np.clip(np.rint(blk * inv[:, :, None]), -127, 127).astype(np.int16) + 128
        packed = q.astype(np.uint8)
    else:
        qmax = 15.0
        if float_zero_point:
            lo = blk.min(axis=2)
            hi = blk.max(axis=2)
        else:
            lo = np.minimum(blk.min(axis=2), 0)
            hi = np.maximum(blk.max(axis=2), 0)
        scale = ((hi - lo) / np.float32(qmax)).astype(np.float32)
        safe = np.where(scale > 0, scale, np.float32(1.0))
        if float_zero_point:
            zp = (-lo / safe).astype(np.float32)
            zp = np.where(scale > 0, zp, np.float32(0.0) - lo)  # constant block: (0 - zp) * 1 = lo
            scale = np.where(scale > 0, scale, np.float32(1.0)).astype(np.float32)
            q = np.clip(np.rint(blk / safe[:, :, None] + zp[:, :, None]), 0, 15)
            zp_out = zp.astype(np.float32).reshape(-1)
        else:
            zpi = np.clip(np.rint(-lo / safe), 0, 15)
            q = np.clip(np.rint(blk / safe[:, :, None]) + zpi[:, :, None], 0, 15)
            zpi = zpi.astype(np.uint8)
            if nb % 2:
                zpi = np.concatenate([zpi, np.zeros((N, 1), np.uint8)], axis=1)
            zp_out = (zpi[:, 0::2] | (zpi[:, 1::2] << 4)).astype(np.uint8).reshape(-1)
        q = q.astype(np.uint8)
        packed = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(packed), np.ascontiguousarray(scale.reshape(-1)), zp_out


def dequantize_blockwise(packed: np.ndarray, scales: np.ndarray, zero_points: np.ndarray | None,
                         bits: int, block_size: int, K: int) -> np.ndarray:
    """Inverse of ``quantize_blockwise`` (for tests and error reports): [N, K] float32."""
    N, nb = packed.shape[0], packed.shape[1]
    if bits == 8:
        q = packed.astype(np.float32)
        zp = np.full((N, nb), 128.0, np.float32) if zero_points is None else zero_points.reshape(N, nb).astype(np.float32)
    else:
        q = np.empty((N, nb, block_size), np.float32)
        q[:, :, 0::2] = packed & 0x0F
        q[:, :, 1::2] = packed >> 4
        if zero_points is None:
            zp = np.full((N, nb), 8.0, np.float32)
        elif zero_points.dtype == np.float32:
            zp = zero_points.reshape(N, nb)
        else:
            z = zero_points.reshape(N, -1)
            zz = np.empty((N, z.shape[1] * 2), np.float32)
            zz[:, 0::2] = z & 0x0F
            zz[:, 1::2] = z >> 4
            zp = zz[:, :nb]
    s = scales.reshape(N, nb)
    w = (q - zp[:, :, None]) * s[:, :, None]
    return w.reshape(N, nb * block_size)[:, :K].astype(np.float32)


def _f16_scale_up(x: np.ndarray, floor: np.ndarray) -> np.ndarray:
    """float16 of x, moved one float16 step up wherever it fell below ``floor`` (so scale*qmax covers the block)."""
    h = x.astype(np.float16)
    low = h.astype(np.float32) < floor
    if low.any():
        h = np.where(low, np.nextafter(h, np.float16(np.inf)), h).astype(np.float16)
    return h


def quantize_int8_f16(w: np.ndarray, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 blocks with a float16 scale (GGUF Q8_0's form: lossless for a dequantized Q8_0
    tensor). Returns (B uint8 [N, n_blocks, block_size] = q + 128, MatMulNBits' 8-bit layout and
    default zero point; scales float16 [N * n_blocks]). Dequantized: (B - 128) * scale."""
    w = np.asarray(w, dtype=np.float32)
    N, K = w.shape
    if K % block_size:
        raise ValueError(f"K={K} is not a multiple of the block size {block_size}")
    blk = w.reshape(N, K // block_size, block_size)
    amax = np.abs(blk).max(axis=2)
    s16 = _f16_scale_up(amax / np.float32(127.0), amax / np.float32(127.0))
    s = s16.astype(np.float32)
    q = np.rint(blk / np.where(s > 0, s, 1)[:, :, None])
    q = np.clip(np.where(s[:, :, None] > 0, q, 0), -127, 127).astype(np.int16) + 128
    return np.ascontiguousarray(q.astype(np.uint8)), np.ascontiguousarray(s16.reshape(-1))


def quantize_q4_min(w: np.ndarray, block_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """4-bit blocks of the form w = q*d + m (q 0..15, d and m float16 per block): GGUF Q4_1's own
    form, so a dequantized Q4_1 tensor comes back exactly (its blocks hold q=0 at the minimum and
    q=15 at the maximum). Returns (B uint8 [N, n_blocks, block_size/2] in MatMulNBits' 4-bit layout,
    d float16 [N * n_blocks], m float16 [N, n_blocks])."""
    w = np.asarray(w, dtype=np.float32)
    N, K = w.shape
    if K % block_size or block_size % 2:
        raise ValueError(f"K={K} is not a multiple of the block size {block_size}")
    blk = w.reshape(N, K // block_size, block_size)
    lo = blk.min(axis=2)
    hi = blk.max(axis=2)
    m16 = lo.astype(np.float16)
    m = m16.astype(np.float32)
    d16 = _f16_scale_up((hi - m) / np.float32(15.0), (hi - m) / np.float32(15.0))
    d = d16.astype(np.float32)
    q = np.rint((blk - m[:, :, None]) / np.where(d > 0, d, 1)[:, :, None])
    q = np.clip(np.where(d[:, :, None] > 0, q, 0), 0, 15).astype(np.uint8)
    packed = (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)
    return np.ascontiguousarray(packed), np.ascontiguousarray(d16.reshape(-1)), np.ascontiguousarray(m16)


def dequantize_q4_min(packed: np.ndarray, d16: np.ndarray, m16: np.ndarray, block_size: int) -> np.ndarray:
    """Inverse of ``quantize_q4_min``: [N, K] float32."""
    N, nb = packed.shape[0], packed.shape[1]
    q = np.empty((N, nb, block_size), np.float32)
    q[:, :, 0::2] = packed & 0x0F
    q[:, :, 1::2] = packed >> 4
    w = q * d16.astype(np.float32).reshape(N, nb)[:, :, None] + m16.astype(np.float32)[:, :, None]
    return w.reshape(N, nb * block_size)


def lossless_f16(arr: np.ndarray) -> bool:
    """True when every value of ``arr`` is a float16 value (e.g. weights trained and saved in fp16)."""
    a = np.asarray(arr, dtype=np.float32)
    with np.errstate(over="ignore"):
        return bool(np.array_equal(a.astype(np.float16).astype(np.float32), a))
