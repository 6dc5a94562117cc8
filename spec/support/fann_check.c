/*
** fann_check.c: libfann itself, for spec/fann_spec.lua (linked with
** -lfloatfann, FANN's float build).
**
**   fann_check make DIR        create, train and save networks with libfann:
**                              DIR/NAME.net, one NAME a line on stdout
**   fann_check run FILE X...   fann_create_from_file, then fann_run on the
**                              inputs X (as many as the net takes, repeated
**                              for several rows); prints each row's outputs
**   fann_check inputs FILE     prints the net's input and output counts
**
** It holds no expected values: the spec compares what libfann computes
** here with what nn computes from the same files.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <floatfann.h>

/* XOR, in -1/1 (the symmetric functions) or 0/1, trained with libfann's
** own trainer (RPROP, its default) until it has learnt it. */
static void train_xor(struct fann *ann, int symmetric, unsigned epochs) {
  struct fann_train_data *data = fann_create_train(4, 2, 1);
  unsigned k;
  for (k = 0; k < 4; k++) {
    fann_type a = (fann_type)(k >> 1), b = (fann_type)(k & 1);
    data->input[k][0] = symmetric ? 2 * a - 1 : a;
    data->input[k][1] = symmetric ? 2 * b - 1 : b;
    data->output[k][0] = (a != b) ? 1 : (symmetric ? -1 : 0);
  }
  fann_train_on_data(ann, data, epochs, 0, 0.0001f);
  fann_destroy_train(data);
}

/* A smooth target for nets of more inputs: sums and products of them. */
static void train_smooth(struct fann *ann, unsigned epochs) {
  unsigned n_in = fann_get_num_input(ann), n_out = fann_get_num_output(ann), e, i;
  fann_type x[16], y[16];
  unsigned seed = 7;
  for (e = 0; e < epochs; e++) {
    for (i = 0; i < n_in; i++) {
      seed = seed * 1103515245u + 12345u;
      x[i] = (fann_type)((seed >> 8) % 2000) / 1000.0f - 1.0f;
    }
    for (i = 0; i < n_out; i++) y[i] = 0.3f * x[i % n_in] - 0.2f * x[(i + 1) % n_in] * x[0];
    fann_train(ann, x, y);
  }
}

static void save(struct fann *ann, const char *dir, const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s.net", dir, name);
  if (fann_save(ann, path) != 0) { fprintf(stderr, "cannot save %s\n", path); exit(1); }
  printf("%s\n", name);
  fann_destroy(ann);
}

static int make(const char *dir) {
  struct fann *ann;
  fann_seed_rand();
  srand(1);

  /* XOR: tanh hidden, sigmoid output, steepness 0.5 (FANN's default) */
  ann = fann_create_standard(3, 2, 4, 1);
  fann_randomize_weights(ann, -0.5f, 0.5f);
  fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC);
  fann_set_activation_function_output(ann, FANN_SIGMOID);
  train_xor(ann, 0, 500);
  save(ann, dir, "xor_sigmoid");

  /* symmetric XOR, steepness 1 everywhere */
  ann = fann_create_standard(3, 2, 3, 1);
  fann_randomize_weights(ann, -0.5f, 0.5f);
  fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC);
  fann_set_activation_function_output(ann, FANN_SIGMOID_SYMMETRIC);
  fann_set_activation_steepness_hidden(ann, 1.0f);
  fann_set_activation_steepness_output(ann, 1.0f);
  train_xor(ann, 1, 500);
  save(ann, dir, "xor_symmetric");

  /* two hidden layers, a linear output, steepness per neuron */
  ann = fann_create_standard(4, 5, 6, 4, 3);
  fann_randomize_weights(ann, -0.5f, 0.5f);
  fann_set_activation_function_hidden(ann, FANN_SIGMOID);
  fann_set_activation_function_output(ann, FANN_LINEAR);
  fann_set_activation_steepness(ann, 0.7f, 1, 2);
  fann_set_activation_steepness(ann, 0.25f, 2, 0);
  fann_set_activation_steepness(ann, 1.5f, 3, 1);
  fann_set_learning_rate(ann, 0.2f);
  train_smooth(ann, 3000);
  save(ann, dir, "deep_linear");

  /* sparse: missing connections are zero weights */
  ann = fann_create_sparse(0.6f, 3, 4, 5, 2);
  fann_randomize_weights(ann, -0.5f, 0.5f);
  fann_set_activation_function_hidden(ann, FANN_SIGMOID_SYMMETRIC);
  fann_set_activation_function_output(ann, FANN_SIGMOID);
  train_smooth(ann, 1000);
  save(ann, dir, "sparse");

  /* refused: FANN's default output function is stepwise */
  ann = fann_create_standard(3, 2, 3, 1);
  save(ann, dir, "stepwise");

  /* refused: a shortcut network */
  ann = fann_create_shortcut(2, 3, 2);
  fann_set_activation_function_output(ann, FANN_SIGMOID);
  save(ann, dir, "shortcut");

  /* refused: an Elliot hidden layer */
  ann = fann_create_standard(3, 2, 3, 1);
  fann_set_activation_function_hidden(ann, FANN_ELLIOT);
  fann_set_activation_function_output(ann, FANN_LINEAR);
  save(ann, dir, "elliot");
  return 0;
}

static int run(const char *file, int argc, char **argv) {
  struct fann *ann = fann_create_from_file(file);
  unsigned n_in, n_out, i;
  int k, rows;
  fann_type x[256];
  if (ann == NULL) { fprintf(stderr, "libfann cannot load %s\n", file); return 1; }
  n_in = fann_get_num_input(ann);
  n_out = fann_get_num_output(ann);
  if (n_in == 0 || n_in > 256 || argc % (int)n_in != 0) {
    fprintf(stderr, "%d inputs for a net of %u\n", argc, n_in);
    return 1;
  }
  rows = argc / (int)n_in;
  for (k = 0; k < rows; k++) {
    fann_type *y;
    for (i = 0; i < n_in; i++) x[i] = strtof(argv[k * (int)n_in + (int)i], NULL);
    y = fann_run(ann, x);
    for (i = 0; i < n_out; i++) printf("%s%.9g", i ? " " : "", (double)y[i]);
    printf("\n");
  }
  fann_destroy(ann);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "make") == 0) return make(argv[2]);
  if (argc >= 3 && strcmp(argv[1], "run") == 0) return run(argv[2], argc - 3, argv + 3);
  if (argc == 3 && strcmp(argv[1], "inputs") == 0) {
    struct fann *ann = fann_create_from_file(argv[2]);
    if (ann == NULL) return 1;
    printf("%u %u\n", fann_get_num_input(ann), fann_get_num_output(ann));
    fann_destroy(ann);
    return 0;
  }
  fprintf(stderr, "usage: fann_check make DIR | run FILE X... | inputs FILE\n");
  return 2;
}
