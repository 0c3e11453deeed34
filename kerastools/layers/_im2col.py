"""The book's im2col / col2im convolution (section 7.4), channels-last, with its own backward pass.

``im2col`` unrolls every receptive field of the (padded) input into a row, so that
the convolution becomes one matrix product (the book's
``col = im2col(x, FH, FW, stride, pad); out = col @ W.reshape(FN, -1).T``)::

    x: (N, H, W, C)  ->  col: (N, OH, OW, FH * FW * C)
    y = col @ K.reshape(FH * FW * C, F)                      # (N, OH, OW, F)

Backward pass of ``y = col @ K2`` (``K2`` the reshaped kernel)::

    dK2 = col^T @ dy
    dcol = dy @ K2^T
    dx = col2im(dcol)

``col2im`` is the adjoint of ``im2col``: every entry of ``dcol`` is added back to
the input position it was copied from (overlapping windows accumulate), then the
padding is cropped -- the book's ``img[:, :, y:y_max:stride, x:x_max:stride] += col[...]``.
The book's code is NCHW with kernels ``(FN, C, FH, FW)``; Keras and this module
use NHWC and ``(FH, FW, C, F)``, so the row order of ``col`` is ``(i, j, c)``.
"""

import tensorflow as tf

from kerastools.layers._spatial import output_length


def _geometry(x_shape, kernel_size, strides, dilation, pads):
    h, w = x_shape[1], x_shape[2]
    oh = output_length(h, kernel_size[0], strides[0], pads[0], dilation[0])
    ow = output_length(w, kernel_size[1], strides[1], pads[1], dilation[1])
    return h, w, oh, ow


def im2col(x, kernel_size, strides, dilation, pads):
    """``(N, H, W, C) -> (N, OH, OW, FH * FW * C)``; `pads` is ``((top, bottom), (left, right))``."""
    (fh, fw), (sh, sw), (dh, dw) = kernel_size, strides, dilation
    _, _, oh, ow = _geometry(x.shape, kernel_size, strides, dilation, pads)
    padded = tf.pad(x, [[0, 0], list(pads[0]), list(pads[1]), [0, 0]])
    # One strided slice per kernel offset (i, j): the course's double loop.
    pieces = [
        padded[:, i * dh : i * dh + sh * (oh - 1) + 1 : sh, j * dw : j * dw + sw * (ow - 1) + 1 : sw, :]
        for i in range(fh)
        for j in range(fw)
    ]
    col = tf.stack(pieces, axis=3)  # (N, OH, OW, FH * FW, C)
    return tf.reshape(col, [-1, oh, ow, fh * fw * x.shape[3]])


def col2im(col, x_shape, kernel_size, strides, dilation, pads):
    """Adjoint of `im2col`: ``(N, OH, OW, FH * FW * C) -> (N, H, W, C)``, overlaps summed."""
    (fh, fw), (sh, sw), (dh, dw) = kernel_size, strides, dilation
    h, w, oh, ow = _geometry(x_shape, kernel_size, strides, dilation, pads)
    channels = x_shape[3]
    height, width = h + sum(pads[0]), w + sum(pads[1])
    span_h, span_w = sh * (oh - 1) + 1, sw * (ow - 1) + 1
    col = tf.reshape(col, [-1, oh, ow, fh * fw, channels])
    padded = None
    for k in range(fh * fw):
        i, j = divmod(k, fw)
        piece = col[:, :, :, k, :]  # (N, OH, OW, C)
        if sh > 1 or sw > 1:
            # Spread the rows/columns `stride` apart: interleave zeros, then crop
            # to the span of the slice that im2col read.
            piece = tf.pad(piece[:, :, None, :, None, :], [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]])
            piece = tf.reshape(piece, [-1, oh * sh, ow * sw, channels])[:, :span_h, :span_w, :]
        top, left = i * dh, j * dw
        placed = tf.pad(
            piece, [[0, 0], [top, height - top - span_h], [left, width - left - span_w], [0, 0]]
        )
        padded = placed if padded is None else padded + placed
    return padded[:, pads[0][0] : pads[0][0] + h, pads[1][0] : pads[1][0] + w, :]


def conv2d_im2col(x, kernel, strides, dilation, pads):
    """Convolution of NHWC `x` by `kernel` ``(FH, FW, C, F)`` through im2col, with the
    hand-written backward pass above. `x` must have static height, width and channels."""
    kernel_size = tuple(kernel.shape[:2])
    x_shape = tuple(x.shape)

    @tf.custom_gradient
    def convolve(x, kernel):
        col = im2col(x, kernel_size, strides, dilation, pads)
        oh, ow, rows = col.shape[1], col.shape[2], col.shape[3]
        matrix = tf.reshape(kernel, [rows, -1])
        col_2d = tf.reshape(col, [-1, rows])
        y = tf.reshape(tf.matmul(col_2d, matrix), [-1, oh, ow, matrix.shape[1]])

        def grad(dy):
            dy_2d = tf.reshape(dy, [-1, matrix.shape[1]])
            dkernel = tf.reshape(tf.matmul(col_2d, dy_2d, transpose_a=True), tf.shape(kernel))
            dcol = tf.reshape(tf.matmul(dy_2d, matrix, transpose_b=True), [-1, oh, ow, rows])
            return col2im(dcol, x_shape, kernel_size, strides, dilation, pads), dkernel

        return y, grad

    return convolve(x, kernel)
