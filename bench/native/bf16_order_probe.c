/*
 * Which fp32 arithmetic VDPBF16PS performs: one million random normal-range lanes, the instruction
 * against three scalar models (high-half product first then low, low first then high, both products
 * with one rounding). The managed emulation (Kernels/Gemm/Bf16MicroKernel.cs) follows the one with
 * no mismatches.
 *
 *   gcc -O2 -mavx512f -mavx512bf16 -mfma bench/native/bf16_order_probe.c -o /tmp/bf16_order -lm && /tmp/bf16_order
 */
#include <immintrin.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <math.h>
static uint32_t rs=12345; static uint32_t rnd(){rs^=rs<<13;rs^=rs>>17;rs^=rs<<5;return rs;}
static float f(uint32_t u){float x;memcpy(&x,&u,4);return x;}
static uint32_t u(float x){uint32_t v;memcpy(&v,&x,4);return v;}
int main(){
  int mism_seq_hi=0, mism_seq_lo=0, mism_single=0, N=1000000;
  for(int t=0;t<N;t+=16){
    uint32_t A[16],B[16]; float C[16];
    for(int i=0;i<16;i++){ A[i]=(rnd()&0x3fff3fff)|0x3c003c00; B[i]=(rnd()&0xbfffbfff)|0x3c003c00; C[i]=f((rnd()&0x3fffffff)|0x3c000000)*((rnd()&1)?1:-1);} 
    __m512 r=_mm512_dpbf16_ps(_mm512_loadu_ps(C),(__m512bh)_mm512_loadu_si512(A),(__m512bh)_mm512_loadu_si512(B));
    float R[16]; _mm512_storeu_ps(R,r);
    for(int i=0;i<16;i++){
      float alo=f(A[i]<<16), ahi=f(A[i]&0xffff0000), blo=f(B[i]<<16), bhi=f(B[i]&0xffff0000);
      float s1=fmaf(alo,blo,fmaf(ahi,bhi,C[i]));   // hi first then lo (Intel pseudo-code)
      float s2=fmaf(ahi,bhi,fmaf(alo,blo,C[i]));   // lo first
      float s3=(float)((double)C[i]+(double)alo*blo+(double)ahi*bhi);
      if(u(s1)!=u(R[i])) mism_seq_hi++; if(u(s2)!=u(R[i])) mism_seq_lo++; if(u(s3)!=u(R[i])) mism_single++;
    }
  }
  printf("of %d: hi-then-lo mismatches %d, lo-then-hi %d, single rounding %d\n",N,mism_seq_hi,mism_seq_lo,mism_single);
}
