import { describe, expect, it } from 'vitest';
import { PullDemand } from '../../src/operators/pull-demand.js';

describe('PullDemand', () => {
  it('allows one pull at a time, and none while `concurrency` items are in flight', () => {
    const demand = new PullDemand(2);
    expect(demand.canPull()).toBe(true);
    demand.pullStarted();
    expect(demand.canPull()).toBe(false); // a pull is outstanding
    expect(demand.pulledItem()).toBe(0);
    demand.pullStarted();
    expect(demand.pulledItem()).toBe(1);
    expect(demand.inflight).toBe(2);
    expect(demand.canPull()).toBe(false); // both slots taken
    demand.itemFinished();
    expect(demand.canPull()).toBe(true);
  });

  it('is done once the source is exhausted and every item has finished', () => {
    const demand = new PullDemand(2);
    demand.pullStarted();
    demand.pulledItem();
    demand.pullStarted();
    demand.pulledEnd(); // the end's pull frees its slot
    expect(demand.inflight).toBe(1);
    expect(demand.canPull()).toBe(false);
    expect(demand.isDone()).toBe(false);
    demand.itemFinished();
    expect(demand.isDone()).toBe(true);
    expect(demand.stop()).toBe(false); // an exhausted source needs no stop
  });

  it('stops an open source once; a failed source is not stopped', () => {
    const open = new PullDemand(1);
    expect(open.stop()).toBe(true);
    expect(open.stop()).toBe(false);
    expect(open.canPull()).toBe(false);
    const failed = new PullDemand(1);
    failed.pullStarted();
    failed.pullFailed();
    expect(failed.canPull()).toBe(false);
    expect(failed.stop()).toBe(false);
  });
});
