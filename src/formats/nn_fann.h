/*
** nn_fann.h: networks from and to FANN's .net files (float files).
**
** The reader takes FANN_FLO_2.1 files (FANN 2.1 and 2.2), FANN_FLO_2.0 (no
** scale_included line) and FANN_FLO_1.1 (one line of settings, activation
** functions per hidden and output layer), the versions libfann 2.2 itself
** reads.  The net must be layered (network_type 0) and each neuron may take
** any of the previous layer's neurons and its bias (a missing connection
** is a zero weight).  FANN computes y = f(s * sum) for a neuron of
** steepness s; the functions that nn has exactly become:
**
**   FANN_LINEAR             s * sum          Linear with W, b scaled by s
**   FANN_SIGMOID            1/(1+e^(-2 s sum)) Linear scaled by 2 s, Sigmoid
**   FANN_SIGMOID_SYMMETRIC  tanh(s * sum)    Linear scaled by s, Tanh
**
** one function for all the neurons of a layer, steepness per neuron.  Every
** other function (stepwise, threshold, Gaussian, Elliot, piecewise linear,
** sine, cosine) is refused, naming the neuron and the function.  libfann
** clips s * sum to +-150/s before the function: nn does not, so a LINEAR
** neuron agrees with libfann while |s * sum| stays under 150/s, and a
** steepness above NN_FANN_MAX_STEEPNESS, where the clip moves a SIGMOID's
** output by more than 1e-5, is refused.
**
** The writer gives a FANN_FLO_2.1 file that libfann's fann_create_from_file
** loads: one FANN layer per Linear, with the function of the Sigmoid (as
** FANN_SIGMOID, steepness 0.5), Tanh (FANN_SIGMOID_SYMMETRIC, 1) or nothing
** (FANN_LINEAR, 1) after it; Identity layers vanish.  ReLU, LeakyReLU and
** SoftMax, which FANN 2.2 cannot express, are refused.  Numbers are written
** with a '.' whatever the C locale, as the shortest text that reads back as
** the same float.
**
** Pure C99: no Lua, no SQLite.  Labels are not written: FANN has no place.
*/
#ifndef NN_FANN_H
#define NN_FANN_H

#include <stddef.h>

#include "engine/nn_engine.h"
#include "formats/nn_io.h"

#define NN_FANN_MAX_STEEPNESS  20.0

/* Read the .net file in data[n] into a new net (nn_net_free it).  Returns
** NN_OK, NN_EFORMAT (not a valid file: truncated, corrupt),
** NN_EUNSUPPORTED (valid, but not what nn runs exactly) or NN_ENOMEM,
** with the message in err. */
int nn_fann_read(const unsigned char *data /* [n] */, size_t n, nn_net **out,
                 char err[NN_ERRMAX]);

/* Write net as a FANN_FLO_2.1 file into a new buffer (free it). */
int nn_fann_write(const nn_net *net, unsigned char **out, size_t *n,
                  char err[NN_ERRMAX]);

#endif
