// For ThreadSanitizer builds only: librdkafka creates its threads and locks
// with C11 <threads.h>, which glibc implements without going through the
// pthread symbols TSan intercepts, so TSan crashes in the first thread
// librdkafka starts (a thread it never saw). Defined here, in the program,
// these C11 functions win over glibc's and call the intercepted pthread ones.
#include <pthread.h>
#include <threads.h>

#include <cerrno>
#include <cstdint>
#include <new>

namespace {
int result(int pthread_error) {
    return pthread_error == 0           ? thrd_success
           : pthread_error == ETIMEDOUT ? thrd_timedout
           : pthread_error == ENOMEM    ? thrd_nomem
           : pthread_error == EBUSY     ? thrd_busy
                                        : thrd_error;
}
struct start {
    thrd_start_t func;
    void* arg;
};
void* trampoline(void* p) {
    start s = *static_cast<start*>(p);
    delete static_cast<start*>(p);
    return reinterpret_cast<void*>(static_cast<std::intptr_t>(s.func(s.arg)));
}
} // namespace

extern "C" {
int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
    auto* s = new (std::nothrow) start{func, arg};
    if (!s)
        return thrd_nomem;
    int e = pthread_create(thr, nullptr, trampoline, s);
    if (e != 0)
        delete s;
    return result(e);
}
int thrd_join(thrd_t thr, int* res) {
    void* r = nullptr;
    int e = pthread_join(thr, &r);
    if (e == 0 && res)
        *res = static_cast<int>(reinterpret_cast<std::intptr_t>(r));
    return result(e);
}
thrd_t thrd_current(void) {
    return pthread_self();
}
int mtx_init(mtx_t* m, int type) {
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    if (type & mtx_recursive)
        pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    int e = pthread_mutex_init(reinterpret_cast<pthread_mutex_t*>(m), &attr);
    pthread_mutexattr_destroy(&attr);
    return result(e);
}
int mtx_lock(mtx_t* m) {
    return result(pthread_mutex_lock(reinterpret_cast<pthread_mutex_t*>(m)));
}
int mtx_unlock(mtx_t* m) {
    return result(pthread_mutex_unlock(reinterpret_cast<pthread_mutex_t*>(m)));
}
void mtx_destroy(mtx_t* m) {
    pthread_mutex_destroy(reinterpret_cast<pthread_mutex_t*>(m));
}
int cnd_init(cnd_t* c) {
    return result(pthread_cond_init(reinterpret_cast<pthread_cond_t*>(c), nullptr));
}
int cnd_signal(cnd_t* c) {
    return result(pthread_cond_signal(reinterpret_cast<pthread_cond_t*>(c)));
}
int cnd_broadcast(cnd_t* c) {
    return result(pthread_cond_broadcast(reinterpret_cast<pthread_cond_t*>(c)));
}
int cnd_wait(cnd_t* c, mtx_t* m) {
    return result(pthread_cond_wait(reinterpret_cast<pthread_cond_t*>(c),
                                    reinterpret_cast<pthread_mutex_t*>(m)));
}
int cnd_timedwait(cnd_t* c, mtx_t* m, const struct timespec* deadline) {
    return result(pthread_cond_timedwait(reinterpret_cast<pthread_cond_t*>(c),
                                         reinterpret_cast<pthread_mutex_t*>(m), deadline));
}
void cnd_destroy(cnd_t* c) {
    pthread_cond_destroy(reinterpret_cast<pthread_cond_t*>(c));
}
void call_once(once_flag* flag, void (*func)(void)) {
    pthread_once(reinterpret_cast<pthread_once_t*>(flag), func);
}
}
