/*
** png_check.c: what a rendered picture looks like, for the specs that draw.
**
**   png_check FILE [X,Y ...]
**
** prints the PNG's width and height, how many pixels are not white, and the
** colour of each pixel asked for:
**
**   size 900 430
**   nonwhite 51234
**   at 450,120 253 184 99
**
** It reads the PNGs that rsvg-convert and a browser's screenshot write:
** 8 bits a sample, RGB or RGBA, not interlaced; anything else is refused.
** Not part of nn: a spec helper, built with zlib.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static unsigned long be32(const unsigned char *p) {
  return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
         (unsigned long)p[2] << 8 | (unsigned long)p[3];
}

static int die(const char *msg) {
  fprintf(stderr, "png_check: %s\n", msg);
  return 1;
}

static int paeth(int a, int b, int c) {
  int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

int main(int argc, char **argv) {
  FILE *f;
  unsigned char *file, *idat = NULL, *raw, *img;
  long size;
  size_t pos = 8, n_idat = 0, bpp, stride, y, x, i;
  unsigned long w = 0, h = 0, nonwhite = 0;
  uLongf raw_len;
  int a;
  if (argc < 2)
    return die("usage: png_check FILE [X,Y ...]");
  if (!(f = fopen(argv[1], "rb")))
    return die("cannot open the file");
  fseek(f, 0, SEEK_END);
  size = ftell(f);
  fseek(f, 0, SEEK_SET);
  file = malloc((size_t)size);
  if (!file || fread(file, 1, (size_t)size, f) != (size_t)size)
    return die("cannot read the file");
  fclose(f);
  if (size < 8 || memcmp(file, "\x89PNG\r\n\x1a\n", 8) != 0)
    return die("not a PNG");
  bpp = 0;
  while (pos + 8 <= (size_t)size) {
    unsigned long len = be32(file + pos);
    const unsigned char *type = file + pos + 4, *data = file + pos + 8;
    if (pos + 12 + len > (size_t)size)
      return die("truncated chunk");
    if (memcmp(type, "IHDR", 4) == 0) {
      w = be32(data);
      h = be32(data + 4);
      if (data[8] != 8 || (data[9] != 2 && data[9] != 6) || data[12] != 0)
        return die("only 8-bit RGB or RGBA, not interlaced");
      bpp = data[9] == 6 ? 4 : 3;
    } else if (memcmp(type, "IDAT", 4) == 0) {
      idat = realloc(idat, n_idat + len);
      memcpy(idat + n_idat, data, len);
      n_idat += len;
    }
    pos += 12 + len;
  }
  if (!bpp || !w || !h || !idat)
    return die("no image");
  stride = w * bpp;
  raw_len = (uLongf)((stride + 1) * h);
  raw = malloc(raw_len);
  img = malloc(stride * h);
  if (!raw || !img || uncompress(raw, &raw_len, idat, (uLong)n_idat) != Z_OK ||
      raw_len != (stride + 1) * h)
    return die("bad image data");
  for (y = 0; y < h; y++) {
    const unsigned char *in = raw + y * (stride + 1) + 1;
    unsigned char *out = img + y * stride, *up = y ? out - stride : NULL;
    int filter = in[-1];
    for (i = 0; i < stride; i++) {
      int left = i >= bpp ? out[i - bpp] : 0, above = up ? up[i] : 0;
      int corner = up && i >= bpp ? up[i - bpp] : 0, v = in[i];
      switch (filter) {
      case 0: break;
      case 1: v += left; break;
      case 2: v += above; break;
      case 3: v += (left + above) / 2; break;
      case 4: v += paeth(left, above, corner); break;
      default: return die("bad filter");
      }
      out[i] = (unsigned char)v;
    }
  }
  for (y = 0; y < h; y++)
    for (x = 0; x < w; x++) {
      const unsigned char *p = img + y * stride + x * bpp;
      if ((bpp == 4 && p[3] > 0 && (p[0] < 250 || p[1] < 250 || p[2] < 250)) ||
          (bpp == 3 && (p[0] < 250 || p[1] < 250 || p[2] < 250)))
        nonwhite++;
    }
  printf("size %lu %lu\nnonwhite %lu\n", w, h, nonwhite);
  for (a = 2; a < argc; a++) {
    unsigned long px, py;
    const unsigned char *p;
    if (sscanf(argv[a], "%lu,%lu", &px, &py) != 2 || px >= w || py >= h)
      return die("a point is X,Y inside the picture");
    p = img + py * stride + px * bpp;
    printf("at %lu,%lu %d %d %d\n", px, py, p[0], p[1], p[2]);
  }
  free(file);
  free(idat);
  free(raw);
  free(img);
  return 0;
}
