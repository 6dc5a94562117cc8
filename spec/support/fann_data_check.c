/*
** fann_data_check.c: a FANN training file as libfann itself reads it, for
** spec/data_fann_spec.lua to compare nn.read_fann_data with: the header
** "pairs inputs outputs", then each pair's inputs and outputs on one line,
** every float32 with 9 significant digits (enough to read back the very
** float).
**
**   fann_data_check xor.data
*/
#include <stdio.h>
#include <floatfann.h>

int main(int argc, char **argv) {
  struct fann_train_data *d;
  unsigned i, j;
  if (argc != 2 || !(d = fann_read_train_from_file(argv[1])))
    return 1;
  printf("%u %u %u\n", fann_length_train_data(d), fann_num_input_train_data(d),
         fann_num_output_train_data(d));
  for (i = 0; i < fann_length_train_data(d); i++) {
    for (j = 0; j < fann_num_input_train_data(d); j++)
      printf("%.9g ", (double)d->input[i][j]);
    for (j = 0; j < fann_num_output_train_data(d); j++)
      printf("%.9g ", (double)d->output[i][j]);
    printf("\n");
  }
  fann_destroy_train(d);
  return 0;
}
