/**
 * One case per rule: a Dockerfile that triggers it (at LINE:COL) and a clean one that does not.
 * The last test fails when a rule has no case here.
 */
import { describe, expect, it } from 'vitest';
import { patternMatcher } from '../../worker/fileops/index.js';
import { lintText, LINT_RULES, type LintOptions } from '../index.js';

interface Case {
  rule: string;
  bad: string;
  at: string; // LINE:COL
  good: string;
  opts?: LintOptions;
  message?: string | RegExp;
}

const X = '# check=experimental=all\n';
const ignore = patternMatcher(['secret.txt', 'build/']);

const CASES: Case[] = [
  // ---- BuildKit ----
  { rule: 'StageNameCasing', bad: 'FROM alpine:3 AS Build\n', at: '1:1', good: 'FROM alpine:3 AS build\n', message: "Stage name 'Build' should be lowercase" },
  { rule: 'FromAsCasing', bad: 'FROM alpine:3 as build\n', at: '1:1', good: 'from alpine:3 as build\n', message: "'as' and 'FROM' keywords' casing do not match" },
  { rule: 'NoEmptyContinuation', bad: 'FROM alpine:3\nRUN echo a && \\\n\n  echo b\n', at: '2:1', good: 'FROM alpine:3\nRUN echo a && \\\n  echo b\n', message: 'Empty continuation line' },
  { rule: 'ConsistentInstructionCasing', bad: 'FROM alpine:3\nRUN true\n  run true\n', at: '3:3', good: 'FROM alpine:3\nRUN true\n', message: "Command 'run' should match the case of the command majority (uppercase)" },
  { rule: 'DuplicateStageName', bad: 'FROM alpine:3 AS a\nFROM alpine:3 AS a\n', at: '2:1', good: 'FROM alpine:3 AS a\nFROM alpine:3 AS b\n', message: 'Duplicate stage name "a", stage names should be unique' },
  { rule: 'ReservedStageName', bad: 'FROM alpine:3 AS scratch\n', at: '1:1', good: 'FROM alpine:3 AS base\n', message: 'Stage name should not use the same name as reserved stage "scratch"' },
  { rule: 'JSONArgsRecommended', bad: 'FROM alpine:3\nCMD echo hi\n', at: '2:1', good: 'FROM alpine:3\nCMD ["echo", "hi"]\n', message: 'JSON arguments recommended for CMD to prevent unintended behavior related to OS signals' },
  { rule: 'MaintainerDeprecated', bad: 'FROM alpine:3\nMAINTAINER me\n', at: '2:1', good: 'FROM alpine:3\nLABEL org.opencontainers.image.authors=me\n', message: 'Maintainer instruction is deprecated in favor of using label' },
  { rule: 'UndefinedArgInFrom', bad: 'ARG VERSION=3\nFROM alpine:${VERSIN}\n', at: '2:1', good: 'ARG VERSION=3\nFROM alpine:${VERSION}\n', message: "FROM argument 'VERSIN' is not declared (did you mean VERSION?)" },
  { rule: 'WorkdirRelativePath', bad: 'FROM alpine:3\nWORKDIR app\n', at: '2:1', good: 'FROM alpine:3\nWORKDIR /app\nWORKDIR sub\n', message: 'Relative workdir "app" can have unexpected results if the base image changes' },
  { rule: 'UndefinedVar', bad: 'FROM scratch\nENV PATH=$PATH:/x\nCOPY $SRC /x\n', at: '3:1', good: 'FROM scratch\nARG SRC\nCOPY $SRC /x\n', message: "Usage of undefined variable '$SRC'" },
  { rule: 'MultipleInstructionsDisallowed', bad: 'FROM alpine:3\nCMD ["a"]\nCMD ["b"]\n', at: '2:1', good: 'FROM alpine:3\nCMD ["a"]\nFROM alpine:3\nCMD ["b"]\n', message: 'Multiple CMD instructions should not be used in the same stage because only the last one will be used' },
  { rule: 'LegacyKeyValueFormat', bad: 'FROM alpine:3\nENV A b\n', at: '2:1', good: 'FROM alpine:3\nENV A=b\n', message: '"ENV key=value" should be used instead of legacy "ENV key value" format' },
  { rule: 'RedundantTargetPlatform', bad: 'FROM --platform=$TARGETPLATFORM alpine:3\n', at: '1:1', good: 'FROM --platform=$BUILDPLATFORM alpine:3\n', message: 'Setting platform to predefined $TARGETPLATFORM in FROM is redundant as this is the default behavior' },
  { rule: 'SecretsUsedInArgOrEnv', bad: 'FROM alpine:3\nARG GITHUB_TOKEN\n', at: '2:1', good: 'FROM alpine:3\nARG PUBLIC_KEY\nARG TOKENIZER\n', message: 'Do not use ARG or ENV instructions for sensitive data (ARG "GITHUB_TOKEN")' },
  { rule: 'InvalidDefaultArgInFrom', bad: 'ARG BASE\nFROM ${BASE}\n', at: '2:1', good: 'ARG BASE=alpine:3\nFROM ${BASE}\n', message: 'Default value for ARG ${BASE} results in empty or invalid base image name' },
  { rule: 'FromPlatformFlagConstDisallowed', bad: 'FROM --platform=linux/amd64 alpine:3 AS build\n', at: '1:1', good: 'FROM --platform=linux/amd64 alpine:3 AS build-amd64\n', message: 'FROM --platform flag should not use constant value "linux/amd64"' },
  { rule: 'CopyIgnoredFile', bad: `${X}FROM alpine:3\nCOPY ./build/out /out\n`, at: '3:1', good: `${X}FROM alpine:3\nCOPY --from=alpine:3 /build/out /out\nCOPY src /src\n`, opts: { ignore }, message: 'Attempting to Copy file "./build/out" that is excluded by .dockerignore' },
  { rule: 'InvalidDefinitionDescription', bad: `${X}FROM alpine:3\n# the version to use\nARG VERSION=1\n`, at: '4:1', good: `${X}FROM alpine:3\n# VERSION the version to use\nARG VERSION=1\n`, message: 'Comment for ARG should follow the format: `# VERSION <description>`' },
  { rule: 'ExposeProtoCasing', bad: 'FROM alpine:3\nEXPOSE 80/TcP\n', at: '2:1', good: 'FROM alpine:3\nEXPOSE 80/tcp\n', message: "Defined protocol '80/TcP' in EXPOSE instruction should be lowercase" },
  { rule: 'ExposeInvalidFormat', bad: 'FROM alpine:3\nEXPOSE 127.0.0.1:80:80\n', at: '2:1', good: 'FROM alpine:3\nEXPOSE 80\n', message: "EXPOSE instruction should not define an IP address or host-port mapping, found '127.0.0.1:80:80'" },
  // ---- hadolint ----
  { rule: 'DL1001', bad: 'FROM alpine:3\n# hadolint ignore=DL3003\nRUN cd /tmp\n', at: '2:1', good: 'FROM alpine:3\nRUN true\n', opts: { override: { info: ['DL1001'] } } },
  { rule: 'DL3000', bad: 'FROM alpine:3\nWORKDIR app\n', at: '2:1', good: 'FROM alpine:3\nWORKDIR /app\nWORKDIR $HOME\n' },
  { rule: 'DL3001', bad: 'FROM alpine:3\nRUN service nginx start\n', at: '2:1', good: 'FROM alpine:3\nRUN apk add --no-cache procps=1\n' },
  { rule: 'DL3002', bad: 'FROM alpine:3\nUSER app\nUSER root\n', at: '3:1', good: 'FROM alpine:3\nUSER root\nRUN true\nUSER app\n' },
  { rule: 'DL3003', bad: 'FROM alpine:3\nRUN cd /tmp && make\n', at: '2:1', good: 'FROM alpine:3\nWORKDIR /tmp\nRUN make\n' },
  { rule: 'DL3004', bad: 'FROM alpine:3\nRUN sudo apk add --no-cache x=1\n', at: '2:1', good: 'FROM alpine:3\nRUN apk add --no-cache x=1\n' },
  { rule: 'DL3006', bad: 'FROM debian\n', at: '1:1', good: 'FROM debian:12 AS base\nFROM base\nFROM ${IMG}\nFROM scratch\n' },
  { rule: 'DL3007', bad: 'FROM debian:latest\n', at: '1:1', good: 'FROM debian:12\n' },
  { rule: 'DL3008', bad: 'FROM debian:12\nRUN apt-get install -y --no-install-recommends curl\n', at: '2:1', good: 'FROM debian:12\nRUN apt-get install -y --no-install-recommends curl=7.88.1-10\n' },
  { rule: 'DL3009', bad: 'FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends c=1\n', at: '2:1', good: 'FROM debian:12\nRUN apt-get update && apt-get install -y --no-install-recommends c=1 && rm -rf /var/lib/apt/lists/*\nRUN apt-get update && apt-get install -y c=1 && apt-get dist-clean\n' },
  { rule: 'DL3010', bad: 'FROM debian:12\nCOPY app.tar.gz /tmp/\nRUN tar -xzf /tmp/app.tar.gz -C /opt\n', at: '2:1', good: 'FROM debian:12\nADD app.tar.gz /opt/\n' },
  { rule: 'DL3011', bad: 'FROM alpine:3\nEXPOSE 80000\n', at: '2:1', good: 'FROM alpine:3\nEXPOSE 8000-8080\n' },
  { rule: 'DL3012', bad: 'FROM alpine:3\nHEALTHCHECK CMD true\nHEALTHCHECK CMD false\n', at: '3:1', good: 'FROM alpine:3\nHEALTHCHECK CMD true\n' },
  { rule: 'DL3013', bad: 'FROM python:3.12\nRUN pip install --no-cache-dir flask\n', at: '2:1', good: 'FROM python:3.12\nRUN pip install --no-cache-dir flask==3.0.0 -r requirements.txt . && python -m pip install --no-cache-dir "a>=1"\n' },
  { rule: 'DL3014', bad: 'FROM debian:12\nRUN apt-get install --no-install-recommends c=1\n', at: '2:1', good: 'FROM debian:12\nRUN apt-get -qq install --no-install-recommends c=1 && apt-get install --yes --no-install-recommends d=1\n' },
  { rule: 'DL3015', bad: 'FROM debian:12\nRUN apt-get install -y c=1\n', at: '2:1', good: 'FROM debian:12\nRUN apt-get install -y --no-install-recommends c=1\n' },
  { rule: 'DL3016', bad: 'FROM node:20\nRUN npm install -g typescript\n', at: '2:1', good: 'FROM node:20\nRUN npm install -g typescript@5.4.0 @scope/pkg@1.0.0 && npm ci && npm install\n' },
  { rule: 'DL3018', bad: 'FROM alpine:3\nRUN apk add --no-cache curl\n', at: '2:1', good: 'FROM alpine:3\nRUN apk add --no-cache --virtual .deps curl=8.5.0-r0\n' },
  { rule: 'DL3019', bad: 'FROM alpine:3\nRUN apk add curl=1\n', at: '2:1', good: 'FROM alpine:3\nRUN apk add --no-cache curl=1\n' },
  { rule: 'DL3020', bad: 'FROM alpine:3\nADD app.py /app/\n', at: '2:1', good: 'FROM alpine:3\nADD "https://github.com/moby/buildkit.git#v0.10.1" /src\nADD https://example.com/a.txt /a\nADD rootfs.tar.xz /\n' },
  { rule: 'DL3021', bad: 'FROM alpine:3\nCOPY a b /dst\n', at: '2:1', good: 'FROM alpine:3\nCOPY a b /dst/\n' },
  { rule: 'DL3022', bad: 'FROM alpine:3\nCOPY --from=builder /a /a\n', at: '2:1', good: 'FROM alpine:3 AS builder\nFROM alpine:3\nCOPY --from=builder /a /a\nCOPY --from=0 /a /b\nCOPY --from=nginx:1 /a /c\n' },
  { rule: 'DL3023', bad: 'FROM alpine:3 AS a\nCOPY --from=a /x /x\n', at: '2:1', good: 'FROM alpine:3 AS a\nFROM alpine:3 AS b\nCOPY --from=a /x /x\n' },
  { rule: 'DL3024', bad: 'FROM alpine:3 AS a\nFROM alpine:3 AS a\n', at: '2:1', good: 'FROM alpine:3 AS a\nFROM alpine:3 AS b\n' },
  { rule: 'DL3025', bad: 'FROM alpine:3\nENTRYPOINT /app\n', at: '2:1', good: 'FROM alpine:3\nENTRYPOINT ["/app"]\n' },
  { rule: 'DL3026', bad: 'FROM quay.io/x/y:1\n', at: '1:1', good: 'FROM docker.io/library/alpine:3\nFROM alpine:3\n', opts: { trustedRegistries: ['docker.io'] } },
  { rule: 'DL3027', bad: 'FROM debian:12\nRUN apt install -y c\n', at: '2:1', good: 'FROM debian:12\nRUN apt-get install -y --no-install-recommends c=1\n' },
  { rule: 'DL3028', bad: 'FROM ruby:3\nRUN gem install rails\n', at: '2:1', good: 'FROM ruby:3\nRUN gem install rails:7.1.0 && gem install bundler -v 2.5.0\n' },
  { rule: 'DL3029', bad: 'FROM --platform=linux/amd64 alpine:3\n', at: '1:1', good: 'FROM --platform=$BUILDPLATFORM alpine:3\n' },
  { rule: 'DL3030', bad: 'FROM centos:7\nRUN yum install httpd-2.4.6 && yum clean all\n', at: '2:1', good: 'FROM centos:7\nRUN yum install -y httpd-2.4.6 && yum clean all\n' },
  { rule: 'DL3032', bad: 'FROM centos:7\nRUN yum install -y httpd-2.4.6\n', at: '2:1', good: 'FROM centos:7\nRUN yum install -y httpd-2.4.6 && yum clean all\n' },
  { rule: 'DL3033', bad: 'FROM centos:7\nRUN yum install -y httpd && yum clean all\n', at: '2:1', good: 'FROM centos:7\nRUN yum install -y httpd-2.4.6 && yum clean all\n' },
  { rule: 'DL3034', bad: 'FROM opensuse/leap:15\nRUN zypper install httpd=2.4 && zypper clean\n', at: '2:1', good: 'FROM opensuse/leap:15\nRUN zypper install -y httpd=2.4 && zypper clean\n' },
  { rule: 'DL3035', bad: 'FROM opensuse/leap:15\nRUN zypper dist-upgrade -y && zypper clean\n', at: '2:1', good: 'FROM opensuse/leap:15\nRUN zypper patch -y && zypper clean\n' },
  { rule: 'DL3036', bad: 'FROM opensuse/leap:15\nRUN zypper install -y httpd=2.4\n', at: '2:1', good: 'FROM opensuse/leap:15\nRUN zypper install -y httpd=2.4 && zypper clean\n' },
  { rule: 'DL3037', bad: 'FROM opensuse/leap:15\nRUN zypper install -y httpd && zypper clean\n', at: '2:1', good: 'FROM opensuse/leap:15\nRUN zypper install -y httpd=2.4 && zypper clean\n' },
  { rule: 'DL3038', bad: 'FROM fedora:40\nRUN dnf install httpd-2.4 && dnf clean all\n', at: '2:1', good: 'FROM fedora:40\nRUN dnf install -y httpd-2.4 && dnf clean all\n' },
  { rule: 'DL3040', bad: 'FROM fedora:40\nRUN dnf install -y httpd-2.4\n', at: '2:1', good: 'FROM fedora:40\nRUN dnf install -y httpd-2.4 && dnf clean all\n' },
  { rule: 'DL3041', bad: 'FROM fedora:40\nRUN dnf install -y httpd && dnf clean all\n', at: '2:1', good: 'FROM fedora:40\nRUN dnf install -y httpd-2.4 && dnf clean all\n' },
  { rule: 'DL3042', bad: 'FROM python:3.12\nRUN pip install flask==3.0.0\n', at: '2:1', good: 'FROM python:3.12\nRUN pip install --no-cache-dir flask==3.0.0\nRUN --mount=type=cache,target=/root/.cache/pip pip install a==1\nENV PIP_NO_CACHE_DIR=1\nRUN pip install b==1\n' },
  { rule: 'DL3043', bad: 'FROM alpine:3\nONBUILD FROM debian:12\n', at: '2:1', good: 'FROM alpine:3\nONBUILD RUN true\n' },
  { rule: 'DL3044', bad: 'FROM alpine:3\nENV A=1 B=$A\n', at: '2:1', good: 'FROM alpine:3\nENV A=1\nENV B=$A\n' },
  { rule: 'DL3045', bad: 'FROM alpine:3\nCOPY a.txt .\n', at: '2:1', good: 'FROM alpine:3\nWORKDIR /app\nCOPY a.txt .\n' },
  { rule: 'DL3046', bad: 'FROM debian:12\nRUN useradd -u 123456 app\n', at: '2:1', good: 'FROM debian:12\nRUN useradd -l -u 123456 app\n' },
  { rule: 'DL3047', bad: 'FROM debian:12\nRUN wget https://x/y\n', at: '2:1', good: 'FROM debian:12\nRUN wget -q https://x/y && wget --progress=dot:giga https://x/z\n' },
  { rule: 'DL3048', bad: 'FROM alpine:3\nLABEL Maintainer=me\n', at: '2:1', good: 'FROM alpine:3\nLABEL org.opencontainers.image.authors=me maintainer=me\n' },
  { rule: 'DL3049', bad: 'FROM alpine:3\nLABEL other=x\n', at: '1:1', good: 'FROM alpine:3\nLABEL version=1.2.3\n', opts: { labelSchema: { version: 'semver' } } },
  { rule: 'DL3050', bad: 'FROM alpine:3\nLABEL version=1.2.3 other=x\n', at: '2:1', good: 'FROM alpine:3\nLABEL version=1.2.3\n', opts: { labelSchema: { version: 'semver' }, strictLabels: true } },
  { rule: 'DL3051', bad: 'FROM alpine:3\nLABEL version=""\n', at: '2:1', good: 'FROM alpine:3\nLABEL version=1.2.3\n', opts: { labelSchema: { version: 'semver' } } },
  { rule: 'DL3052', bad: 'FROM alpine:3\nLABEL docs=nope\n', at: '2:1', good: 'FROM alpine:3\nLABEL docs=https://example.com/docs\n', opts: { labelSchema: { docs: 'url' } } },
  { rule: 'DL3053', bad: 'FROM alpine:3\nLABEL created=yesterday\n', at: '2:1', good: 'FROM alpine:3\nLABEL created=2024-01-02T03:04:05Z\n', opts: { labelSchema: { created: 'rfc3339' } } },
  { rule: 'DL3054', bad: 'FROM alpine:3\nLABEL license=MITX\n', at: '2:1', good: 'FROM alpine:3\nLABEL license=Apache-2.0\n', opts: { labelSchema: { license: 'spdx' } } },
  { rule: 'DL3055', bad: 'FROM alpine:3\nLABEL rev=xyz\n', at: '2:1', good: 'FROM alpine:3\nLABEL rev=0123abc\n', opts: { labelSchema: { rev: 'hash' } } },
  { rule: 'DL3056', bad: 'FROM alpine:3\nLABEL version=1.2\n', at: '2:1', good: 'FROM alpine:3\nLABEL version=1.2.3-rc.1\n', opts: { labelSchema: { version: 'semver' } } },
  { rule: 'DL3057', bad: 'FROM alpine:3\n', at: '1:1', good: 'FROM alpine:3\nHEALTHCHECK CMD true\n', opts: { override: { info: ['DL3057'] } } },
  { rule: 'DL3058', bad: 'FROM alpine:3\nLABEL contact=me\n', at: '2:1', good: 'FROM alpine:3\nLABEL contact=me@example.com\n', opts: { labelSchema: { contact: 'email' } } },
  { rule: 'DL3059', bad: 'FROM alpine:3\nRUN true\nRUN false\n', at: '3:1', good: 'FROM alpine:3\nRUN true\nWORKDIR /x\nRUN false\nRUN --mount=type=cache,target=/c true\n' },
  { rule: 'DL3060', bad: 'FROM node:20\nRUN yarn install\n', at: '2:1', good: 'FROM node:20\nRUN yarn install && yarn cache clean\n' },
  { rule: 'DL3061', bad: 'LABEL a=b\nFROM alpine:3\n', at: '1:1', good: 'ARG V=3\nFROM alpine:$V\n' },
  { rule: 'DL3062', bad: 'FROM golang:1.22\nRUN go install example.com/tool\n', at: '2:1', good: 'FROM golang:1.22\nRUN go install example.com/tool@v1.2.3 && go install ./...\n' },
  { rule: 'DL3063', bad: 'FROM alpine:3 AS context\n', at: '1:1', good: 'FROM alpine:3 AS ctx\n' },
  { rule: 'DL4000', bad: 'FROM alpine:3\nMAINTAINER me\n', at: '2:1', good: 'FROM alpine:3\nLABEL maintainer=me\n' },
  { rule: 'DL4001', bad: 'FROM debian:12\nRUN wget -q https://x/a\nRUN curl -fsSL https://x/b\n', at: '3:1', good: 'FROM debian:12\nRUN curl -fsSL https://x/b\nFROM debian:12\nRUN wget -q https://x/a\n' },
  { rule: 'DL4003', bad: 'FROM alpine:3\nCMD ["a"]\nCMD ["b"]\n', at: '3:1', good: 'FROM alpine:3\nCMD ["a"]\n' },
  { rule: 'DL4004', bad: 'FROM alpine:3\nENTRYPOINT ["a"]\nENTRYPOINT ["b"]\n', at: '3:1', good: 'FROM alpine:3\nENTRYPOINT ["a"]\n' },
  { rule: 'DL4005', bad: 'FROM debian:12\nRUN ln -sfv /bin/bash /bin/sh\n', at: '2:1', good: 'FROM debian:12\nSHELL ["/bin/bash", "-c"]\n' },
  { rule: 'DL4006', bad: 'FROM debian:12\nRUN wget -qO- https://x | tar -x\n', at: '2:1', good: 'FROM debian:12\nRUN set -o pipefail && wget -qO- https://x | tar -x\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN wget -qO- https://x | tar -x\n' },
  // ---- stagecraft ----
  { rule: 'InvalidDockerfile', bad: 'FROM alpine:3\nCOPY --chmod=x --bogus=1 a /b\n', at: '2:16', good: 'FROM alpine:3\nCOPY a /b\n', message: /unknown flag: bogus/ },
  { rule: 'CompilerInFinalStage', bad: 'FROM node:20\nWORKDIR /app\nRUN npm ci && npx tsc\n', at: '3:1', good: 'FROM debian:12\nRUN apt-get update && apt-get install -y gcc make && make && apt-get purge -y --auto-remove gcc make\n' },
  { rule: 'DevDependenciesInFinalStage', bad: 'FROM node:20\nRUN npm ci\n', at: '2:1', good: 'FROM node:20\nRUN npm ci --omit=dev && npm install -g pm2@5\n' },
  { rule: 'FinalStageFromBuildStage', bad: 'FROM debian:12 AS build\nRUN make\nFROM build\n', at: '3:1', good: 'FROM debian:12 AS build\nRUN make\nFROM debian:12\nCOPY --from=build /out /out\n' },
  { rule: 'CopyWholeStage', bad: 'FROM debian:12 AS build\nWORKDIR /src\nFROM debian:12\nCOPY --from=build /src /src\n', at: '4:1', good: 'FROM debian:12 AS build\nWORKDIR /src\nFROM debian:12\nCOPY --from=build /src/out /out\n' },
  { rule: 'UnusedStage', bad: 'FROM debian:12 AS unused\nFROM debian:12\n', at: '1:1', good: 'FROM debian:12 AS base\nFROM base\n' },
  { rule: 'SystemDirFromSameBase', bad: 'FROM python:3.12 AS build\nFROM python:3.12\nCOPY --from=build /usr/local/lib /usr/local/lib\n', at: '3:1', good: 'FROM golang:1.22 AS build\nFROM debian:12\nCOPY --from=build /usr/local/lib /usr/local/lib\n' },
  { rule: 'NpmCacheInShippedStage', bad: 'FROM node:20\nRUN npm ci --omit=dev\n', at: '2:1', good: 'FROM node:20\nRUN npm ci --omit=dev && npm cache clean --force\nRUN --mount=type=cache,target=/root/.npm npm ci --omit=dev\n' },
  { rule: 'SecretFileCopied', bad: 'FROM alpine:3\nCOPY .npmrc /root/.npmrc\n', at: '2:1', good: 'FROM alpine:3\nCOPY package.json /app/\n' },
];

const hits = (text: string, rule: string, opts?: LintOptions) => lintText(text, { file: 'Dockerfile', ...opts }).findings.filter((f) => f.rule === rule);

describe('every rule: a triggering and a clean Dockerfile', () => {
  for (const c of CASES) {
    it(c.rule, () => {
      const bad = hits(c.bad, c.rule, c.opts);
      expect(bad.map((f) => `${f.line}:${f.col}`), `${c.rule} on:\n${c.bad}`).toContain(c.at);
      const f = bad.find((x) => `${x.line}:${x.col}` === c.at)!;
      if (typeof c.message === 'string') expect(f.message).toBe(c.message);
      else if (c.message) expect(f.message).toMatch(c.message);
      expect(f.url).toMatch(/^https:\/\//);
      expect(f.endLine).toBeGreaterThanOrEqual(f.line);
      expect(hits(c.good, c.rule, c.opts), `${c.rule} on the clean file:\n${c.good}`).toEqual([]);
    });
  }
  it('covers every rule but the build-time-only InvalidBaseImagePlatform', () => {
    const covered = new Set(CASES.map((c) => c.rule));
    expect(LINT_RULES.map((r) => r.id).filter((id) => !covered.has(id))).toEqual(['InvalidBaseImagePlatform']);
  });
  it('BuildKit URLs are docs.docker.com/go/dockerfile/rule/<kebab-name>/', () => {
    const byId = new Map(LINT_RULES.map((r) => [r.id, r.url]));
    expect(byId.get('JSONArgsRecommended')).toBe('https://docs.docker.com/go/dockerfile/rule/json-args-recommended/');
    expect(byId.get('FromPlatformFlagConstDisallowed')).toBe('https://docs.docker.com/go/dockerfile/rule/from-platform-flag-const-disallowed/');
    expect(byId.get('DL3008')).toBe('https://github.com/hadolint/hadolint/wiki/DL3008');
  });
});
