/*
 * One core's memory bandwidth: a 512 MB AVX-512 read (sum) loop, a copy loop and a copy with
 * non-temporal stores, three rounds. Wall clock; run it on an otherwise idle core.
 *
 *   gcc -O2 -mavx512f bench/native/stream_bw.c -o /tmp/stream_bw && /tmp/stream_bw
 *
 * "copy" counts the bytes read plus the bytes written (2 × 512 MB per pass).
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
int main(){size_t n=(size_t)512<<20; float*a=aligned_alloc(64,n); float*b=aligned_alloc(64,n); for(size_t i=0;i<n/4;i++){a[i]=i;b[i]=0;}
for(int r=0;r<3;r++){double t=now(); __m512 s=_mm512_setzero_ps(); for(size_t i=0;i<n/4;i+=16) s=_mm512_add_ps(s,_mm512_load_ps(a+i)); double d=now()-t; float o[16]; _mm512_storeu_ps(o,s);
 printf("read %.1f GB/s (%g)\n", n/d/1e9, o[0]);
 t=now(); for(size_t i=0;i<n/4;i+=16) _mm512_store_ps(b+i,_mm512_load_ps(a+i)); d=now()-t; printf("copy %.1f GB/s\n", 2*n/d/1e9);
 t=now(); for(size_t i=0;i<n/4;i+=16) _mm512_stream_ps(b+i,_mm512_load_ps(a+i)); d=now()-t; printf("copy-nt %.1f GB/s\n", 2*n/d/1e9);}
}
