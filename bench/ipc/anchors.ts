// The host C anchors of the pipe benchmarks (bench/README.md "IPC"): two host processes (fork(2)) doing
// what the NightOS programs of programs.ts do, timed with CLOCK_MONOTONIC in the same places as the
// NightOS markers. Each prints one JSON object; the bench runs them in the same run as NCW's figures.

/**
 * `pipe_tp <total> <block> <rounds> <pipe bytes>`: per round a fresh child and a fresh host pipe of
 * `pipe bytes` (F_SETPIPE_SZ; 65536 is Linux's default); the child says it is ready through a second
 * pipe and blocks in read(2); the parent reads CLOCK_MONOTONIC, write(2)s `total` bytes in writes of
 * `block` bytes; the child read(2)s until each block is whole, reads the clock after the last one and
 * sends it back. Window: the parent's clock before its first write → the child's after its last read
 * (the same points as the NightOS markers). CPU: each process' CLOCK_PROCESS_CPUTIME_ID between the
 * same points as its NightOS markers (the child's from its first read). The child checks the last
 * block outside the window. Prints {"ms":[window per round], "cpuMs":[both processes' CPU per round],
 * "pipeBytes": the size the host gave}.
 */
export const PIPE_TP_C = `#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e3+t.tv_nsec/1e6;}
static double cpu(void){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec*1e3+t.tv_nsec/1e6;}
static void full_read(int fd,char *b,size_t n){size_t g=0;while(g<n){ssize_t r=read(fd,b+g,n-g);if(r<=0)_exit(2);g+=(size_t)r;}}
static void full_write(int fd,const char *b,size_t n){size_t g=0;while(g<n){ssize_t r=write(fd,b+g,n-g);if(r<=0)exit(3);g+=(size_t)r;}}
int main(int argc,char **argv){
  if(argc<5)return 1;
  long long total=atoll(argv[1]);size_t block=(size_t)atol(argv[2]);int rounds=atoi(argv[3]);int want=atoi(argv[4]);
  long long n=total/(long long)block;char *buf=malloc(block);for(size_t i=0;i<block;i++)buf[i]=(char)(i*7);
  int got=0;double *cpus=malloc(sizeof(double)*rounds);printf("{\\"ms\\":[");
  for(int k=0;k<rounds;k++){
    int d[2],u[2];if(pipe(d)||pipe(u))return 1;
    if(fcntl(d[1],F_SETPIPE_SZ,want)<0)return 4;got=fcntl(d[1],F_GETPIPE_SZ);
    pid_t c=fork();
    if(c==0){close(d[1]);close(u[0]);char *in=malloc(block);if(write(u[1],"r",1)!=1)_exit(1);
      double c0=cpu();for(long long i=0;i<n;i++)full_read(d[0],in,block);
      double t1=now();double r2[2]={t1,cpu()-c0};
      int last;memcpy(&last,in,4);if(last!=(int)(n-1))_exit(5);
      for(size_t i=4;i<block;i++)if(in[i]!=(char)(i*7))_exit(6);
      if(write(u[1],r2,16)!=16)_exit(1);_exit(0);}
    close(d[0]);close(u[1]);char r;if(read(u[0],&r,1)!=1)return 1;
    double t0=now(),c0=cpu();
    for(long long i=0;i<n;i++){int x=(int)i;memcpy(buf,&x,4);full_write(d[1],buf,block);}
    double cw=cpu()-c0;double r2[2];if(read(u[0],r2,16)!=16)return 7;double t1=r2[0];cpus[k]=cw+r2[1];int st;waitpid(c,&st,0);if(!WIFEXITED(st)||WEXITSTATUS(st))return 8;
    printf("%s%f",k?",":"",t1-t0);close(d[1]);close(u[0]);}
  printf("],\\"cpuMs\\":[");for(int k=0;k<rounds;k++)printf("%s%f",k?",":"",cpus[k]);
  printf("],\\"pipeBytes\\":%d}\\n",got);return 0;}`;

/**
 * `futex_rt <blocks> <per> <size> <spin>`: a fresh child and a MAP_SHARED anonymous page holding two
 * sequence words (ping, pong), their "sleeping" words and a `size`-byte message slot each way. Per
 * round trip the parent copies its message into the ping slot, bumps ping (and FUTEX_WAKEs only if the
 * child announced it sleeps), then waits for pong; the child waits for ping, copies the message out,
 * copies it into the pong slot, bumps pong. A waiter re-reads its word `spin` times, then announces
 * itself, re-checks and FUTEX_WAITs (spin 0: blocking, it sleeps at once) — the protocol of NCW's ring
 * (docs/ipc.md "Waiting"). The parent reads CLOCK_MONOTONIC around each block of `per` round trips.
 * CPU: both processes' CLOCK_PROCESS_CPUTIME_ID over all the round trips (the child's goes back in
 * the shared page). Prints {"us":[µs per round trip of each block], "cpuUs": both processes' CPU
 * per round trip}.
 */
export const FUTEX_RT_C = `#define _GNU_SOURCE
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
struct side { _Atomic int seq; _Atomic int sleeping; double cpu; char pad[48]; char msg[65536]; };
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e6+t.tv_nsec/1e3;}
static double cpu(void){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec*1e6+t.tv_nsec/1e3;}
static long spin;
static void await_seq(struct side *s,int want){
  for(long i=0;i<spin;i++)if(s->seq==want)return;
  for(;;){s->sleeping=1;if(s->seq==want){s->sleeping=0;return;}
    syscall(SYS_futex,&s->seq,FUTEX_WAIT,want-1,NULL,NULL,0);s->sleeping=0;if(s->seq==want)return;}}
static void publish(struct side *s,int v){s->seq=v;if(s->sleeping)syscall(SYS_futex,&s->seq,FUTEX_WAKE,1,NULL,NULL,0);}
int main(int argc,char **argv){
  if(argc<5)return 1;
  int blocks=atoi(argv[1]),per=atoi(argv[2]);size_t size=(size_t)atol(argv[3]);spin=atol(argv[4]);
  struct side *sh=mmap(NULL,2*sizeof(struct side),PROT_READ|PROT_WRITE,MAP_SHARED|MAP_ANONYMOUS,-1,0);
  if(sh==MAP_FAILED)return 1;struct side *ping=&sh[0],*pong=&sh[1];
  long n=(long)blocks*per;
  pid_t c=fork();
  if(c==0){char *m=malloc(size);double c0=cpu();for(long i=0;i<n;i++){await_seq(ping,(int)i+1);memcpy(m,ping->msg,size);
      memcpy(pong->msg,m,size);publish(pong,(int)i+1);}
    pong->cpu=cpu()-c0;int last;memcpy(&last,m,4);_exit(last==(int)(n-1)?0:5);}
  char *out=malloc(size),*in=malloc(size);memset(out,7,size);double *us=malloc(sizeof(double)*blocks);long i=0;double c0=cpu();
  for(int b=0;b<blocks;b++){double t0=now();
    for(int k=0;k<per;k++,i++){int x=(int)i;memcpy(out,&x,4);memcpy(ping->msg,out,size);publish(ping,(int)i+1);
      await_seq(pong,(int)i+1);memcpy(in,pong->msg,size);int y;memcpy(&y,in,4);if(y!=x)return 6;}
    us[b]=(now()-t0)/per;}
  double cp=cpu()-c0;int st;waitpid(c,&st,0);if(!WIFEXITED(st)||WEXITSTATUS(st))return 8;
  printf("{\\"us\\":[");for(int b=0;b<blocks;b++)printf("%s%f",b?",":"",us[b]);
  printf("],\\"cpuUs\\":%f}\\n",(cp+pong->cpu)/n);return 0;}`;

/**
 * `unix_rt <n> <req> <ans>`: a request/answer over a Unix-domain stream socket (socketpair) between two
 * processes (a fresh child): per round trip the parent writes `req` bytes and reads the child's `ans`
 * bytes back; the child reads the whole request, then writes its answer. The parent reads
 * CLOCK_MONOTONIC around each round trip, the first 10 left out (warm-up). Prints {"medianUs": the
 * median round trip, "cpuUs": both processes' CPU per round trip}.
 */
export const UNIX_RT_C = `#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
static double now(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e6+t.tv_nsec/1e3;}
static double cpu(void){struct timespec t;clock_gettime(CLOCK_PROCESS_CPUTIME_ID,&t);return t.tv_sec*1e6+t.tv_nsec/1e3;}
static int cmp(const void *a,const void *b){double x=*(const double*)a,y=*(const double*)b;return x<y?-1:x>y;}
static int full(int fd,char *b,size_t n,int w){size_t d=0;while(d<n){ssize_t r=w?write(fd,b+d,n-d):read(fd,b+d,n-d);if(r<=0)return -1;d+=(size_t)r;}return 0;}
int main(int argc,char **argv){
  if(argc<4)return 1;
  long n=atol(argv[1]);size_t req=(size_t)atol(argv[2]),ans=(size_t)atol(argv[3]);
  int sv[2];if(socketpair(AF_UNIX,SOCK_STREAM,0,sv))return 1;
  double *childCpu=mmap(NULL,8,PROT_READ|PROT_WRITE,MAP_SHARED|MAP_ANONYMOUS,-1,0);
  pid_t c=fork();
  if(c==0){close(sv[0]);char *in=malloc(req),*out=malloc(ans);memset(out,3,ans);double c0=cpu();
    for(long i=0;i<n;i++){if(full(sv[1],in,req,0))_exit(2);memcpy(out,in,ans<req?ans:req);if(full(sv[1],out,ans,1))_exit(3);}
    *childCpu=cpu()-c0;_exit(0);}
  close(sv[1]);char *out=malloc(req),*in=malloc(ans);memset(out,7,req);double *us=malloc(sizeof(double)*n);double c0=cpu();
  for(long i=0;i<n;i++){double t0=now();memcpy(out,&i,sizeof i);if(full(sv[0],out,req,1)||full(sv[0],in,ans,0))return 4;us[i]=now()-t0;}
  double cp=cpu()-c0;int st;waitpid(c,&st,0);if(!WIFEXITED(st)||WEXITSTATUS(st))return 5;
  long skip=n>20?10:0;qsort(us+skip,(size_t)(n-skip),sizeof(double),cmp);
  printf("{\\"medianUs\\":%f,\\"cpuUs\\":%f}\\n",us[skip+(n-skip)/2],(cp+*childCpu)/n);return 0;}`;
