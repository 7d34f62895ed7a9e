/* The baseline: an empty program linked the same way as ops.c. */
int main(void)
{
    return 0;
}
