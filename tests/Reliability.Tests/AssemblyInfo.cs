// Every drill runs a whole application of real processes and loads it: two at once on a 2-core
// machine would only measure each other, and a recovery deadline could be missed for that reason alone.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
