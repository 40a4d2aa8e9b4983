import { describe, expect, it } from 'vitest';
import { findNearestName, measureEditDistance } from '../../src/scenario/nearest-name.js';
import { checkAddress, checkCidr, checkPortName, checkPortNumber, parseDurationMs } from '../../src/scenario/values.js';

describe('parseDurationMs', () => {
  it.each([
    ['500ms', 500],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m', 60_000],
    [' 3s ', 3000],
    ['2', undefined],
    ['2 sec', undefined],
    ['0s', undefined],
    ['-1s', undefined],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h2m3s', 3_723_000],
    ['2.5s', 2500],
    ['1.5m', 90_000],
    ['1h0.5s', 3_600_500],
    ['0s0ms', undefined],
    ['1m 30s', undefined],
    ['1m30', undefined],
    ['m30s', undefined],
    ['1d', undefined],
    ['1H', undefined],
    ['s', undefined],
    ['', undefined],
  ])('%j -> %j', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });
});

describe('ports', () => {
  it.each([
    [1, true],
    [65535, true],
    [0, false],
    [65536, false],
    [80.5, false],
  ])('number %d valid: %s', (port, ok) => {
    expect(checkPortNumber(port) === undefined).toBe(ok);
  });

  it.each([
    ['http', true],
    ['dns-tcp', true],
    ['h2c', true],
    ['a23456789012345', true],
    ['a234567890123456', false], // 16 characters
    ['HTTP', false],
    ['8080', false], // no letter
    ['-http', false],
    ['http-', false],
    ['grpc--api', false],
    ['my_port', false],
    ['', false],
  ])('name %j valid: %s', (name, ok) => {
    expect(checkPortName(name) === undefined).toBe(ok);
  });
});

describe('addresses and CIDRs', () => {
  it.each([
    ['192.168.1.208', true],
    ['fd00::1', true],
    ['mlflow.example.com', true],
    ['localhost', true],
    ['192.168.1.256', false],
    ['10.0.0', false],
    ['fd00::1::2', false],
    ['10.0.0.0/8', false],
    ['under_score.example', false],
    ['-lead.example', false],
  ])('address %j valid: %s', (address, ok) => {
    expect(checkAddress(address) === undefined).toBe(ok);
  });

  it.each([
    ['10.0.0.0/8', true],
    ['0.0.0.0/0', true],
    ['fd00::/8', true],
    ['::/0', true],
    ['10.0.0.0/33', false],
    ['fd00::/129', false],
    ['10.0.0.0', false],
    ['10.0.0.0/8/9', false],
    ['10.0.0.300/8', false],
    ['10.0.0.0/x', false],
  ])('cidr %j valid: %s', (cidr, ok) => {
    expect(checkCidr(cidr) === undefined).toBe(ok);
  });
});

describe('nearest names', () => {
  it.each([
    ['namespace', 'namespace', 0],
    ['namespce', 'namespace', 1],
    ['namsepace', 'namespace', 1], // adjacent transposition counts once
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
  ])('distance(%j, %j) = %d', (a, b, d) => {
    expect(measureEditDistance(a, b)).toBe(d);
  });

  it.each([
    ['namespce', ['namespace', 'labels', 'node'], 'namespace'],
    ['Namespace', ['namespace', 'labels'], 'namespace'],
    ['tcp', ['TCP', 'UDP', 'SCTP'], 'TCP'],
    ['prot', ['port', 'protocol'], 'port'],
    ['colour', ['timeout', 'retries'], undefined],
    ['ab', ['xy'], undefined],
    ['servng', ['serving', 'training'], 'serving'],
  ])('nearest(%j) = %j', (word, candidates, nearest) => {
    expect(findNearestName(word, candidates)).toBe(nearest);
  });
});
