// SPDX-License-Identifier: GPL-2.0-only
/* A namespaced template method: its mangled name is _ZN2ns5KlassIiE6methodEi. */

namespace ns {

template <class T> struct Klass {
	T method(T x);
};

static volatile int sink;

template <class T> __attribute__((noinline)) T Klass<T>::method(T x)
{
	for (T i = 0; i < x; i++)
		sink += static_cast<int>(i) * 5;
	return sink;
}

template struct Klass<int>;

} // namespace ns

extern "C" int symtest_method(int x)
{
	ns::Klass<int> k;

	return k.method(x);
}
