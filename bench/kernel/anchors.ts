// The host C anchors of the kernel benchmark (bench/README.md "Kernel"): each prints one JSON object of
// medians over many repetitions, measured in the same run as NCW's figures.

export const GETPID_C = `#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
static int cmp(const void *a, const void *b){double x=*(const double*)a,y=*(const double*)b;return x<y?-1:x>y;}
int main(void){double r[9];const long n=2000000;for(int k=0;k<9;k++){struct timespec a,b;clock_gettime(CLOCK_MONOTONIC,&a);
for(long i=0;i<n;i++) syscall(SYS_getpid);clock_gettime(CLOCK_MONOTONIC,&b);
r[k]=((b.tv_sec-a.tv_sec)*1e9+(b.tv_nsec-a.tv_nsec))/n;}qsort(r,9,sizeof r[0],cmp);printf("{\\"ns\\":%f}\\n",r[4]);return 0;}`;

/**
 * fork(2) from the parent's call to the child running: the parent reads CLOCK_MONOTONIC right before
 * fork(), the child reads it as its first act and sends it through a pipe. Modes: single (median of
 * 200), in a row (20 forks each waited for, median of the 20, repeated 10 times), burst (20 forks back
 * to back, children waited for after all 20: the median window and the last child's running time after
 * the first call), 64 MiB (a parent with 64 MiB written, median of 50).
 */
export const FORK_C = `#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e3+t.tv_nsec/1e6;}
static int cmp(const void *a, const void *b){double x=*(const double*)a,y=*(const double*)b;return x<y?-1:x>y;}
static double med(double *v,int n){qsort(v,n,sizeof v[0],cmp);return n%2?v[n/2]:(v[n/2-1]+v[n/2])/2;}
/* n forks, each child waited for before the next: win[i] = call -> child running. */
static void forks(int n,double *win){int p[2];if(pipe(p))exit(1);
for(int i=0;i<n;i++){double t0=now();pid_t c=fork();if(c==0){double t=now();if(write(p[1],&t,8)!=8)_exit(1);_exit(0);}
double t;if(read(p[0],&t,8)!=8)exit(1);win[i]=t-t0;waitpid(c,0,0);}close(p[0]);close(p[1]);}
/* n forks back to back, one pipe per child, waited for after all n: win[i] = call i -> child i running;
   returns the last child's running time minus the first call. */
static double burst(int n,double *win){int p[64][2];double t0[64];pid_t c[64];double first=0,last=0;
for(int i=0;i<n;i++){if(pipe(p[i]))exit(1);}
for(int i=0;i<n;i++){t0[i]=now();if(i==0)first=t0[i];c[i]=fork();if(c[i]==0){double t=now();if(write(p[i][1],&t,8)!=8)_exit(1);_exit(0);}}
for(int i=0;i<n;i++){double t;if(read(p[i][0],&t,8)!=8)exit(1);win[i]=t-t0[i];if(t>last)last=t;waitpid(c[i],0,0);close(p[i][0]);close(p[i][1]);}
return last-first;}
int main(void){double v[200],w[64],rows[10],span[10];
for(int i=0;i<200;i++){forks(1,w);v[i]=w[0];}double single=med(v,200);
for(int k=0;k<10;k++){forks(20,w);rows[k]=med(w,20);}double row=med(rows,10);
for(int k=0;k<10;k++){span[k]=burst(20,w);rows[k]=med(w,20);}double bw=med(rows,10),bs=med(span,10);
size_t sz=64u<<20;char *m=malloc(sz);memset(m,1,sz);for(int i=0;i<50;i++){forks(1,w);v[i]=w[0];}double big=med(v,50);
printf("{\\"single\\":%f,\\"row\\":%f,\\"burstMedian\\":%f,\\"burstSpan\\":%f,\\"big\\":%f,\\"touch\\":%d}\\n",single,row,bw,bs,big,m[sz-1]);return 0;}`;

/** pthread_create's call to the thread running (the thread's first act reads the clock), median of 200. */
export const THREAD_C = `#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <pthread.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e3+t.tv_nsec/1e6;}
static int cmp(const void *a, const void *b){double x=*(const double*)a,y=*(const double*)b;return x<y?-1:x>y;}
static double b; static void *f(void *x){b=now();return x;}
int main(void){double v[200];for(int k=0;k<200;k++){pthread_t t;double a=now();pthread_create(&t,0,f,0);pthread_join(t,0);v[k]=b-a;}
qsort(v,200,sizeof v[0],cmp);printf("{\\"ms\\":%f}\\n",(v[99]+v[100])/2);return 0;}`;

/** SIGUSR1 into a busy C loop, round trip (the handler answers through a pipe), median of 20. */
export const SIGNAL_C = `#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
static int cmp(const void *a, const void *b){double x=*(const double*)a,y=*(const double*)b;return x<y?-1:x>y;}
static int fdw;static void h(int s){(void)s;if(write(fdw,"x",1)){}_exit(0);}
int main(void){double v[20];for(int k=0;k<20;k++){int p[2];if(pipe(p))return 1;pid_t c=fork();
if(c==0){fdw=p[1];signal(SIGUSR1,h);if(write(p[1],"r",1)){}for(volatile long i=0;;i++);}
char x;if(read(p[0],&x,1)){}usleep(2000);struct timespec a,b;clock_gettime(CLOCK_MONOTONIC,&a);kill(c,SIGUSR1);if(read(p[0],&x,1)){}
clock_gettime(CLOCK_MONOTONIC,&b);v[k]=((b.tv_sec-a.tv_sec)*1e3+(b.tv_nsec-a.tv_nsec)/1e6);waitpid(c,0,0);close(p[0]);close(p[1]);}
qsort(v,20,sizeof v[0],cmp);printf("{\\"ms\\":%f}\\n",(v[9]+v[10])/2);return 0;}`;
