#include <cstdio>
int main() { std::puts("weir"); return 0; }
